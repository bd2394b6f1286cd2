"""What the speech routes and commands share in one process: engines, store, job worker. Built on
first use from the settings the entry point made (nothing happens at import)."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from loa.settings import Settings
from loa.speech.engines.registry import EngineRegistry
from loa.speech.jobs import ThreadJobRunner
from loa.speech.service import SpeechContext
from loa.speech.store import LocalAudioStore

_lock = threading.Lock()


@dataclass
class SpeechRuntime:
    context: SpeechContext
    jobs: ThreadJobRunner

    @classmethod
    def build(
        cls, settings: Settings, factory: sessionmaker[Session], *, recover: bool = True
    ) -> SpeechRuntime:
        store = LocalAudioStore(settings.audio_dir)
        store.clean_partial_files()
        context = SpeechContext(
            registry=EngineRegistry.from_settings(settings),
            store=store,
            max_upload_bytes=settings.max_upload_bytes,
            max_upload_duration_s=settings.max_upload_duration_s,
        )
        runtime = cls(context=context, jobs=ThreadJobRunner(factory, context))
        if recover:
            runtime.jobs.recover()
        return runtime

    def close(self) -> None:
        self.jobs.close()


def runtime_for(state: Any) -> SpeechRuntime:
    """The runtime kept on an application's ``state`` (created on the first speech request)."""
    with _lock:
        runtime: SpeechRuntime | None = getattr(state, "speech_runtime", None)
        if runtime is None:
            runtime = SpeechRuntime.build(state.settings, state.session_factory)
            state.speech_runtime = runtime
        return runtime

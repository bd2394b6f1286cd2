"""This agent's release: the version it runs, whether it became healthy (``healthy`` in its slot, so
the launcher stops counting its starts), and an ``update`` under way (``loa.agent.update``)."""

from __future__ import annotations

import logging
import os

from loa import __version__
from loa.agent import launch, update
from loa.agent.config import AgentConfig, Identity
from loa.agent.fetch import DataBudget, ServerClient
from loa.protocol import messages as m

log = logging.getLogger(__name__)


class ReleaseState:
    def __init__(self, config: AgentConfig) -> None:
        self.config = config
        # The launcher's slot, else this code's own version.
        self.version = os.environ.get(launch.VERSION_ENV) or __version__
        self.birth_sent = False
        self.manifest_accepted = False
        self.healthy = False
        self.updating = False

    def born(self) -> None:
        self.birth_sent = True
        self._check_healthy()

    def accepted_manifest(self) -> None:
        self.manifest_accepted = True
        self._check_healthy()

    def _check_healthy(self) -> None:
        """Healthy once a manifest was accepted (or the server said it has none for this device yet)
        and the broker heard the birth, in this run."""
        if self.healthy or not (self.birth_sent and self.manifest_accepted):
            return
        self.healthy = True
        root = self.config.install_root
        if root is not None and launch.mark_healthy(root, self.version):
            log.info("agent release %s is healthy", self.version)

    def rolled_back_from(self) -> str | None:
        root = self.config.install_root
        return launch.rolled_back_from(root) if root is not None else None

    async def install(
        self,
        args: m.UpdateArgs,
        *,
        identity: Identity | None,
        server: ServerClient | None,
        budget: DataBudget,
    ) -> tuple[m.CommandStatus, str]:
        """Carry out an ``update``; returns the command's answer (``done``: restart now). Whatever
        goes wrong ends the update with an answer, and ``updating`` is cleared for the next one; only
        ``done`` keeps it (the agent restarts into the new release)."""
        if self.updating:
            return m.CommandStatus.REJECTED, "busy"
        self.updating = True
        key = self.config.release_public_key or (identity.release_public_key if identity else None)
        installed = False
        try:
            await update.apply(
                args, root=self.config.install_root, release_key_b64=key, server=server, budget=budget
            )
            installed = True
        except update.UpdateError as err:
            log.warning("update to %s refused or failed: %s", args.version, err)
            return (m.CommandStatus.REJECTED if err.rejected else m.CommandStatus.FAILED), err.code
        except Exception:  # a fault not foreseen must not leave the device "busy" until a restart
            log.exception("update to %s failed", args.version)
            return m.CommandStatus.FAILED, "internal_error"
        finally:
            if not installed:
                self.updating = False
        return m.CommandStatus.DONE, "restarting"

"""``loa broker …`` (registered in ``loa.cli.SUBCOMMAND_MODULES``)."""

from loa.fleet.cli import broker_app as app

__all__ = ["app"]

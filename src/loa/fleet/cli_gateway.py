"""``loa gateway …`` (registered in ``loa.cli.SUBCOMMAND_MODULES``)."""

from loa.fleet.cli import gateway_app as app

__all__ = ["app"]

"""`flask --app webhooks cpoint import-complexes FILE`: the registered apartment complexes
(core.complexes). Bad input exits with status 2 and every problem by line number; nothing is
written then."""
from __future__ import annotations

import click

from core.complexes import COMPLEX_HEADER, import_complexes
from core.csv_screening import ImportRejected
from webhooks.commands import cpoint, services
from webhooks.commands.points import _rejected, encoding_option


@cpoint.command("import-complexes")
@click.argument("file", type=click.Path(dir_okay=False))
@encoding_option
def import_complexes_cmd(file: str, encoding: str):
    """Import apartment complexes: CSV header complex_code,name,road_address,jibun_address,dongs,electricity,water,gas."""
    svc = services()
    try:
        result = import_complexes(svc.db, svc.clock, file, encoding=encoding)
    except ImportRejected as exc:
        _rejected(exc, file)
    for note in result.notices:
        click.echo(f"note: {note}", err=True)
    click.echo(f"imported {result.summary()}")


__all__ = ["COMPLEX_HEADER", "import_complexes_cmd"]

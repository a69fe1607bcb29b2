"""The `backoffice` command line."""

from __future__ import annotations

import typer

from bot.settings import Settings, SettingsError, load_settings
from nlu.cli import app as nlu_app

app = typer.Typer(help="Back Office Assistant: leave, payslips, IT tickets, stock and HR in chat.", no_args_is_help=True)
app.add_typer(nlu_app, name="nlu")


def settings_from(ctx: typer.Context) -> Settings:
    settings = ctx.find_root().obj
    assert isinstance(settings, Settings)
    return settings


@app.callback()
def _load(ctx: typer.Context) -> None:
    try:
        ctx.obj = load_settings()
    except SettingsError as exc:
        typer.echo(f"error: invalid setting: {exc}", err=True)
        raise typer.Exit(2) from None


def main() -> None:
    app()

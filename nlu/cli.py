"""`backoffice nlu ...` commands (placeholder, replaced by the NLU work)."""

import typer

app = typer.Typer(help="Train, try and evaluate the intent and entity models.", no_args_is_help=True)

"""``python -m livepanty_db`` runs the ``livepanty-db`` command line."""

from livepanty_db.cli import main

main(prog_name="livepanty-db")

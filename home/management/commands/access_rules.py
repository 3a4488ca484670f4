from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from home.access_table import END, START, markdown


class Command(BaseCommand):
    help = "Print the access rules (who sees what) as the README's table, from the rules the code uses."

    def handle(self, *args: Any, **options: Any) -> None:
        self.stdout.write(f"{START}\n{markdown()}\n{END}")

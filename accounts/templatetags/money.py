"""Amounts in the practice's currency: ``{{ fee|money:practice.currency }}`` gives "$120.00"."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django import template

from accounts.models import CURRENCIES

register = template.Library()


@register.filter
def money(amount: object, currency: str = "USD") -> str:
    try:
        value = Decimal(str(amount))
    except (InvalidOperation, ValueError):
        return ""
    symbol = CURRENCIES.get(currency, ("", f"{currency} "))[1]
    sign = "-" if value < 0 else ""
    return f"{sign}{symbol}{abs(value):,.2f}"

from django import template

from accounts.browsers import describe_browser

register = template.Library()


@register.filter(name="browser")
def browser(user_agent: str) -> str:
    """A User-Agent header in the product's words (accounts.browsers), capitalised for a table."""
    words = describe_browser(str(user_agent or ""))
    return words[:1].upper() + words[1:]

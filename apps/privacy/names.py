"""What redaction treats as a customer's own name. Pure: the chat's services call it before storing a message
when PII is redacted at rest, without importing the privacy app's models."""


def customer_names(*, name: str, email: str) -> list[str]:
    """The customer's name, and the e-mail's local part when it reads like one (carl.jensen@… → "carl jensen")."""
    names = [name] if name.strip() else []
    local = email.split("@", 1)[0] if email else ""
    spaced = " ".join(local.replace(".", " ").replace("_", " ").replace("-", " ").split())
    if len(spaced) >= 2 and not any(character.isdigit() for character in spaced):
        names.append(spaced)
    return names

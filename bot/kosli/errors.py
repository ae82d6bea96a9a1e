"""The Kosli client's exceptions, named by what the caller should tell the user."""


class KosliError(Exception):
    """Base class; the message is safe to show to a user."""


class KosliNotFound(KosliError):
    """404: unknown environment, snapshot or artifact."""


class KosliUnauthorized(KosliError):
    """401/403: the API token is wrong or has no access to the organisation."""


class KosliForbidden(KosliUnauthorized):
    """403: the token is good but may not read that organisation (or there is none)."""


class KosliBadRequest(KosliError):
    """400/422: Kosli refused the request (e.g. a snapshot expression it cannot read)."""


class KosliUnavailable(KosliError):
    """Kosli could not be reached, timed out, or kept failing after retries."""


class KosliBadResponse(KosliError):
    """Kosli answered with something that is not the JSON we expect."""


class KosliAnswerTooLarge(KosliBadResponse):
    """Kosli's answer was bigger than the bot reads (KOSLI_MAX_ANSWER_MB): it was cut off
    unread rather than let one answer take the process's memory."""

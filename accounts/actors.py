from dataclasses import dataclass

from accounts.models import ActorKind


@dataclass(frozen=True)
class Actor:
    """Who did something, for the audit log: a person, an agent key, a job or the system."""

    kind: str
    label: str
    user: object = None

    @classmethod
    def for_user(cls, user):
        kind = ActorKind.STAFF if user.is_staff else ActorKind.USER
        return cls(kind=kind, label=user.email, user=user)

    @classmethod
    def job(cls, name):
        return cls(kind=ActorKind.JOB, label=name)

    @classmethod
    def agent(cls, key_prefix):
        return cls(kind=ActorKind.AGENT, label=f"agent key {key_prefix}")

    @classmethod
    def system(cls, label="system"):
        return cls(kind=ActorKind.SYSTEM, label=label)

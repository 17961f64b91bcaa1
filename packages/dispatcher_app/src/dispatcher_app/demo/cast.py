"""Who plays in the demo: agents with a temperament, customers with a name and a phone number, and what
they say. Pure data and a seeded random generator: no I/O, so the cast of a seed is always the same.

Why temperaments: a demo where every agent answers in two seconds shows only the round-robin. A slow agent
sometimes misses the response timeout (rule 6 moves the conversation), agents take breaks (rule 4: grace
period, then redistribution), and some close conversations while others let them go quiet (rule 7).
"""

from __future__ import annotations

import random
from dataclasses import dataclass

__all__ = [
    "AGENT_REPLIES",
    "BUSINESS_NUMBER_ID",
    "CUSTOMER_FIRST_MESSAGES",
    "CUSTOMER_FOLLOW_UPS",
    "AgentProfile",
    "Customer",
    "agent_profiles",
    "customers",
]

#: The demo's WhatsApp business number (``phone_number_id`` of the webhooks).
BUSINESS_NUMBER_ID = "106540352242922"

_AGENT_NAMES = (
    "amina", "bruno", "chloe", "diego", "emma", "farid", "giulia", "hugo", "ines", "jonas",
    "keiko", "leon", "maya", "noah", "olga", "paulo", "quinn", "rosa", "samir", "tess",
)  # fmt: skip

_FIRST_NAMES = (
    "Camille", "Lucas", "Léa", "Hugo", "Chloé", "Nathan", "Manon", "Louis", "Sarah", "Gabriel",
    "Inès", "Jules", "Zoé", "Adam", "Lina", "Raphaël", "Jade", "Arthur", "Alice", "Tom",
    "Fatou", "Yanis", "Nina", "Mehdi", "Eva", "Sacha", "Rose", "Noé", "Mila", "Ethan",
)  # fmt: skip

_INITIALS = "ABCDEFGHJKLMNPRSTVW"

CUSTOMER_FIRST_MESSAGES: tuple[str, ...] = (
    "Bonjour, je voudrais un devis pour 20 licences",
    "Hello! Is the spring offer still available?",
    "Hi, my order #4521 has not arrived yet",
    "Bonjour, pouvez-vous me rappeler ?",
    "Do you deliver to Lyon?",
    "I'd like to upgrade my plan",
    "Hola, ¿tienen soporte en español?",
    "Can I change the delivery address of my order?",
    "Bonjour, le produit est-il disponible en bleu ?",
    "Hi, I was charged twice this month",
)

CUSTOMER_FOLLOW_UPS: tuple[str, ...] = (
    "Thanks!",
    "Any news?",
    "Merci, et pour la livraison ?",
    "Ok, can you send me the invoice?",
    "Perfect, let's do it",
    "And what about the price for 50?",
    "Still there?",
    "Super, merci beaucoup",
)

AGENT_REPLIES: tuple[str, ...] = (
    "Hello! I'm on it, give me a minute.",
    "Bonjour, je regarde ça tout de suite.",
    "Thanks for your message, here is the quote.",
    "Your order ships tomorrow morning.",
    "Yes, the offer is valid until Friday.",
    "I've updated your address.",
    "Done: the refund is on its way.",
    "Can I help with anything else?",
)


@dataclass(frozen=True, slots=True)
class AgentProfile:
    """How one simulated agent behaves. Times in seconds."""

    agent_id: str
    #: Delay before answering a customer message: uniform in this range.
    reply_delay: tuple[float, float]
    #: Chance to leave a message unanswered (the response timeout then moves the conversation).
    ignore_probability: float
    #: Chance to close the conversation after answering.
    close_probability: float
    #: How long the agent stays connected, then offline, each time: uniform in these ranges.
    online_for: tuple[float, float]
    offline_for: tuple[float, float]
    #: When the agent first connects, after the demo starts (staggered: the first conversations wait).
    first_connect_after: float


@dataclass(frozen=True, slots=True)
class Customer:
    customer_id: str
    name: str


def agent_profiles(count: int, rng: random.Random) -> list[AgentProfile]:
    """``count`` agents: most are diligent, one in four is slow (and sometimes misses the deadline)."""
    profiles = []
    for index in range(count):
        base = _AGENT_NAMES[index % len(_AGENT_NAMES)]
        agent_id = base if index < len(_AGENT_NAMES) else f"{base}-{index // len(_AGENT_NAMES) + 1}"
        slow = index % 4 == 3
        profiles.append(
            AgentProfile(
                agent_id=agent_id,
                reply_delay=(4.0, 12.0) if slow else (1.0, 5.0),
                ignore_probability=0.35 if slow else 0.03,
                close_probability=rng.uniform(0.4, 0.6),
                online_for=(40.0, 90.0),
                offline_for=(8.0, 20.0),
                first_connect_after=4.0 + 1.5 * index + rng.uniform(0.0, 0.5),
            )
        )
    return profiles


def customers(count: int, rng: random.Random) -> list[Customer]:
    """``count`` customers with French mobile numbers (E.164 digits, as WhatsApp sends ``from``)."""
    numbers = rng.sample(range(10_000_000, 100_000_000), count)
    return [
        Customer(customer_id=f"336{number}", name=f"{_FIRST_NAMES[index % len(_FIRST_NAMES)]} {rng.choice(_INITIALS)}.")
        for index, number in enumerate(numbers)
    ]

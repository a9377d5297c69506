"""What people say around the intent itself: thanks, asking for a person, greetings, sign-offs, survey comments.

The intent-specific content lives in data/: the customer's question is a BANKING77 utterance, the bot quotes
the article for the intent, and the agent's answer comes from intents.json.
"""

BOT_ANSWER_INTROS = ("", "", "I can help with that. ", "Here's what you need to know. ", "Good question! ")
BOT_CLARIFY = (
    "Sorry, I want to make sure I point you to the right answer — could you tell me a bit more about what happened?",
    "Could you give me a little more detail? For example, which card or payment this is about and when it happened.",
    "I'm not quite sure I understood. Could you describe the problem in a few more words?",
)
BOT_THANKS_REPLY = (
    "Glad I could help! If anything else comes up, just message me here.",
    "You're welcome! I'm here day and night if you need anything else.",
    "Happy to help. Have a great day!",
)
BOT_HANDOFF = (
    "I'll pass you to our {team} team — they'll see everything you've written here, so you won't need to repeat "
    "yourself.",
    "Let me get a member of our {team} team to look at this for you. They'll reply right here.",
    "This is one for a person. I've passed your conversation to our {team} team.",
)
BOT_HANDOFF_AFTER_HOURS = (
    " Our team is available from 08:00 to 22:00 UK time; they'll reply here as soon as they're back, and we'll "
    "email you too."
)

CUSTOMER_THANKS = (
    "Thanks, that's really helpful!",
    "Great, thank you.",
    "Perfect, thanks for sorting that.",
    "ok thanks",
    "Thank you so much!",
    "That answers it, thanks.",
    "cheers",
)
CUSTOMER_WANTS_PERSON = (
    "That doesn't really answer my question. Can I speak to a person?",
    "I'd like to talk to someone please.",
    "This didn't help, I need an agent.",
    "Can a human look at this? It's urgent.",
    "I've already tried that. Can I talk to someone?",
    "agent please",
)
CUSTOMER_OPEN_QUESTION = (
    "How long will that take?",
    "OK, and will I be charged anything for that?",
    "Thanks — can you confirm once it's done?",
    "Is there anything I need to do in the meantime?",
)

AGENT_GREETINGS = (
    "Hi {first}, thanks for waiting. ",
    "Hi {first}, I've had a look at this for you. ",
    "Thanks for your patience, {first}. ",
    "Hello {first}, {agent} here from the {team} team. ",
)
AGENT_PENDING = (
    " Could you let me know once that's sorted on your side? I'll keep this ticket open until I hear from you.",
    " Please reply here when you've had a chance to check, and I'll take it from there.",
)
AGENT_CLOSING = (
    "You're welcome! Is there anything else I can help with today?",
    "My pleasure — have a good day!",
    "Glad that's sorted. Take care!",
)
AGENT_NOTES = (
    "Customer verified through the in-app approval.",
    "Checked recent card activity: nothing else unusual on the account.",
    "Second contact about this in a week; flagged to the team lead.",
    "Followed the playbook; no further action needed.",
)
EMAIL_SIGN_OFFS = ("Kind regards,", "Best wishes,", "Many thanks,")

SURVEY_COMMENTS = {
    5: ("Quick and clear, thanks!", "Sorted in minutes. Great service.", "Really helpful, thank you.", "Brilliant"),
    4: ("Good answer, took a little while.", "Helpful, thanks.", "Fine, got what I needed."),
    3: ("OK in the end.", "Had to ask twice.", "The answer was a bit generic."),
    2: ("Took far too long to get a person.", "The bot didn't understand me.", "Still not fully sorted."),
    1: (
        "Waited ages to talk to someone.",
        "Nobody could tell me where my money is.",
        "Useless, I had to explain everything again.",
    ),
}

from django.dispatch import Signal

# A message was sent (after its transaction committed): sender=Message, conversation_id and
# recipients (the user ids who reach the conversation, but not the sender). The sessions app
# pushes it to their open pages (sessions.receivers), with no content.
message_arrived = Signal()

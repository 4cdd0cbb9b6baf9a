"""The conversation: pure async state machines fed with channel-neutral events."""

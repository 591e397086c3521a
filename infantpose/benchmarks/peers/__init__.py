"""Peer systems measured on the same clip, each in its own environment, writing bench's JSON schema."""

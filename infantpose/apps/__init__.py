"""Applications over the runtime: a whole study through the chain (``batch``, locally or on Ray)
and facts about this machine (``system``)."""

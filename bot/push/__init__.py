"""Pushes: the bot speaks first through the Kakao Event API.

- client.py      Event API client (POST /v2/bots/{botId}/talk, GET task results), explicit timeouts
- sender.py      drains the outbox: claim a batch, post it, record the answer (exactly once),
                 paced by a bot.ratelimit.TokenBucket (messages per second)
- reconcile.py   looks task results up later; per-user failures, unreachable members
- render.py      the shared event.data of a batch, and each member's own notice (notice skill)
- reachability.py  channel add/block and isFriend from skill payloads
- runtime.py     builds the above from the settings
- standin.py     the one stand-in of the Event API: loopback server (tests, benchmarks) and /dev/kakao
"""

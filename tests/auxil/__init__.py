"""Test helpers, one package (in the way of python-telegram-bot's tests/auxil):

- `support`: payload builders, the Kakao test client, settings, constants, table wipes;
- `engine`: members, local governments and usage files for points and settlement tests;
- `scenarios`: whole conversations through the endpoint (`Chat`, `signup_until`);
- `push`: outbox rows, senders and a fake clock for push tests;
- `pushproc`: real scheduler/web processes for the integration tests;
- `citizen`: what a citizen answers, for the browser tests.

Import them as `from tests.auxil.support import make_payload`; nothing edits sys.path."""

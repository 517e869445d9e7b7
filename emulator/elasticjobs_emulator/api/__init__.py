"""ARM HTTP layer of the emulator: FastAPI routers, auth, error bodies, paging, LRO headers."""

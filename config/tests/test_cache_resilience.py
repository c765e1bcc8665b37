"""A dead or hung Redis must be a cache miss within the socket timeout, never an error or a hang."""

import socket
import threading

from django.utils.module_loading import import_string

from config.settings import redis_cache


def make_cache(url: str):
    config = redis_cache(url, socket_timeout=0.25)
    backend = import_string(config.pop("BACKEND"))
    return backend(config.pop("LOCATION"), config)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_a_dead_redis_is_a_cache_miss():
    cache = make_cache(f"redis://127.0.0.1:{free_port()}/0")
    cache.set("key", "value")
    assert cache.get("key", default="missing") == "missing"


def test_a_hung_redis_is_a_cache_miss_within_the_socket_timeout():
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    accepted = []
    stop = threading.Event()

    def accept_and_say_nothing():
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                accepted.append(listener.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept_and_say_nothing, daemon=True)
    thread.start()
    try:
        cache = make_cache(f"redis://127.0.0.1:{listener.getsockname()[1]}/0")
        results = []
        reader = threading.Thread(target=lambda: results.append(cache.get("key", default="missing")), daemon=True)
        reader.start()
        reader.join(timeout=30)  # liveness, not speed: without socket timeouts this never returns
        assert not reader.is_alive(), "a hung Redis blocked the cache read"
        assert results == ["missing"]
        assert accepted, "the client never reached the hung server"
    finally:
        stop.set()
        thread.join()
        for conn in accepted:
            conn.close()
        listener.close()

import jax
import pytest

# Strict JAX in tests (as flax's CI and equinox do): no silent rank promotion.
jax.config.update("jax_numpy_rank_promotion", "raise")


@pytest.fixture(autouse=True)
def _no_network(monkeypatch):
    """Tests never reach the internet: any socket connection outside loopback fails loudly."""
    import socket

    real_connect = socket.socket.connect

    def guarded(self, address):
        host = address[0] if isinstance(address, tuple) else address
        if isinstance(host, str) and not (host.startswith("127.") or host in ("localhost", "::1")):
            if self.family in (socket.AF_INET, socket.AF_INET6):
                raise OSError(f"tests must not use the network (tried {address})")
        return real_connect(self, address)

    monkeypatch.setattr(socket.socket, "connect", guarded)

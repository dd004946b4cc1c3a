"""An HTTPS proxy that delivers `*.amazonaws.com` calls to the sandbox, for SDKs without endpoints.

Some AWS clients cannot be pointed at another endpoint: the official session-manager-plugin
(aws-sdk-go 1.54, which reads neither AWS_ENDPOINT_URL nor a profile's `endpoint_url`) calls
`https://kms.<region>.amazonaws.com` for the data key of a KMS-encrypted session, and `sts` for a
role profile's credentials. They do honour `HTTPS_PROXY` and `AWS_CA_BUNDLE` (Go's
`http.ProxyFromEnvironment`, the SDK's custom CA bundle), so the sandbox offers both: a CONNECT
proxy on loopback that terminates TLS for AWS host names with a certificate from its own CA (made
at start, never trusted by anything but the process given `AWS_CA_BUNDLE`), then pipes the
plaintext HTTP to the sandbox's own port, where the front router routes it by its SigV4 scope as
any other call. Any other host is refused: nothing leaves the machine through it.

Run such a client with `HTTPS_PROXY=<info["aws_proxy"]> AWS_CA_BUNDLE=<info["aws_ca_bundle"]>`.
Loopback URLs (the SSM endpoint and the StreamUrl the sandbox issues) bypass proxies in Go.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import logging
import ssl
import tempfile
from pathlib import Path

log = logging.getLogger(__name__)

CA_FILE = "aws-proxy-ca.pem"
AWS_SUFFIXES = (".amazonaws.com", ".amazonaws.com.cn", ".api.aws")
HEAD_LIMIT = 16 * 1024


class _Authority:
    """The proxy's CA and the per-host TLS contexts it signs (EC P-256, short-lived)."""

    def __init__(self, directory: Path) -> None:
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import NameOID

        self._x509, self._hashes, self._ser, self._ec, self._oid = (
            x509,
            hashes,
            serialization,
            ec,
            NameOID,
        )
        self._key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "ssm-tui sandbox AWS proxy CA")])
        now = datetime.datetime.now(datetime.UTC)
        self._name = name
        self._ca = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(self._key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=7))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    key_cert_sign=True,
                    crl_sign=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .sign(self._key, hashes.SHA256())
        )
        self.ca_path = directory / CA_FILE
        self.ca_path.write_bytes(self._ca.public_bytes(serialization.Encoding.PEM))
        self._directory = directory
        self._contexts: dict[str, ssl.SSLContext] = {}

    def context_for(self, host: str) -> ssl.SSLContext:
        context = self._contexts.get(host)
        if context is None:
            context = self._contexts[host] = self._make_context(host)
        return context

    def _make_context(self, host: str) -> ssl.SSLContext:
        x509, ser = self._x509, self._ser
        key = self._ec.generate_private_key(self._ec.SECP256R1())
        now = datetime.datetime.now(datetime.UTC)
        cert = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(self._oid.COMMON_NAME, host)]))
            .issuer_name(self._name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=7))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(host)]), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .sign(self._key, self._hashes.SHA256())
        )
        pem = cert.public_bytes(ser.Encoding.PEM) + key.private_bytes(
            ser.Encoding.PEM, ser.PrivateFormat.PKCS8, ser.NoEncryption()
        )
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        # load_cert_chain takes files only: a private temporary one, removed at once
        with tempfile.NamedTemporaryFile(dir=self._directory, suffix=".pem") as handle:
            handle.write(pem)
            handle.flush()
            context.load_cert_chain(handle.name)
        return context


class AwsProxy:
    """The running proxy: `url` for HTTPS_PROXY, `ca_path` for AWS_CA_BUNDLE."""

    def __init__(self, upstream: tuple[str, int], directory: Path) -> None:
        self._upstream = upstream
        self._directory = directory
        self._authority: asyncio.Future[_Authority] | None = None
        self._server: asyncio.Server | None = None
        self.url = ""
        self.ca_path = directory / CA_FILE
        """Written just after the start (the CA is made on a thread: ~150 ms off the start)."""

    async def start(self, host: str = "127.0.0.1") -> AwsProxy:
        loop = asyncio.get_running_loop()
        self._authority = loop.run_in_executor(None, _Authority, self._directory)
        self._server = await asyncio.start_server(self._client, host, 0)
        port = self._server.sockets[0].getsockname()[1]
        self.url = f"http://{host}:{port}"
        return self

    async def ready(self) -> None:
        """Wait until the CA file exists."""
        assert self._authority is not None
        await asyncio.shield(self._authority)

    def close(self) -> None:
        if self._server is not None:
            self._server.close()

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 30)
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError, OSError):
            writer.close()
            return
        parts = head.split(b"\r\n", 1)[0].decode("latin-1").split()
        target = parts[1] if len(parts) == 3 and parts[0] == "CONNECT" else ""
        host, _, _port = target.rpartition(":")
        if not host or not host.lower().endswith(AWS_SUFFIXES):
            writer.write(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
            with contextlib.suppress(OSError):
                await writer.drain()
            writer.close()
            return
        try:
            writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
            await writer.drain()
            assert self._authority is not None
            authority = await asyncio.shield(self._authority)
            await writer.start_tls(authority.context_for(host.lower()))
            up_reader, up_writer = await asyncio.open_connection(*self._upstream)
        except (OSError, ssl.SSLError) as exc:
            log.debug("aws proxy: %s: %s", host, exc)
            writer.close()
            return
        await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (OSError, ssl.SSLError, asyncio.IncompleteReadError):
        pass
    finally:
        with contextlib.suppress(OSError, RuntimeError, ssl.SSLError):
            writer.close()

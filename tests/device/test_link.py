"""The same link code over TCP and serial ports; fault specs parse strictly."""

import os
import socket
import threading

import pytest
import serial
from simkit import make_machine

from laserdose.device.client import DeviceClient
from laserdose.device.faults import Fault, parse_faults
from laserdose.device.link import LinkError, SerialLink, SocketLink, parse_url
from laserdose.device.protocol import Frame, FrameParser, Msg, encode_frame
from laserdose.device.simserver import SimulatorServer
from laserdose.errors import InputError


def test_serial_loopback_carries_frames():
    link = SerialLink(serial.serial_for_url("loop://", timeout=0))
    raw = encode_frame(Frame(3, Msg.HEARTBEAT, {}))
    link.send(raw)
    assert FrameParser().feed(link.recv(0.5)) == [Frame(3, Msg.HEARTBEAT, {})]
    link.close()


class _PtyLink:
    """Host end of a pty pair (the master fd), for talking to a simulator on the slave end."""

    def __init__(self, fd: int) -> None:
        self.fd = fd

    def send(self, data: bytes) -> None:
        os.write(self.fd, data)

    def recv(self, timeout_s: float) -> bytes:
        import select

        ready, _, _ = select.select([self.fd], [], [], timeout_s)
        return os.read(self.fd, 65536) if ready else b""

    def close(self) -> None:
        os.close(self.fd)


def test_simulator_serves_over_a_serial_port(profile):
    master, slave = os.openpty()
    server = SimulatorServer(make_machine(profile), "serial://" + os.ttyname(slave))
    thread = threading.Thread(target=server.serve, daemon=True)
    thread.start()
    try:
        identity = DeviceClient(_PtyLink(master), ack_timeout_s=0.5).hello()
        assert identity["profile"] == "15w-dual" and identity["version"] == 1
    finally:
        server.stop()
        thread.join(5)
        os.close(slave)


def test_socket_link_reports_a_closed_peer():
    a, b = socket.socketpair()
    link = SocketLink(a)
    b.close()
    with pytest.raises(LinkError):
        link.recv(0.5)


@pytest.mark.parametrize("url", ["http://x:1", "tcp://hostonly", "serial://"])
def test_bad_urls_are_input_errors(url):
    with pytest.raises(InputError):
        parse_url(url)


def test_fault_specs():
    assert parse_faults(["estop@2s,power-deviation=0.3@1.5s"]) == (
        Fault("power-deviation", 1.5, 0.3),
        Fault("estop", 2.0),
    )
    bad_specs = [
        ("estop", "must look like"),
        ("boom@1s", "unknown fault"),
        ("estop=1@2s", "takes no value"),
        ("power-deviation@2s", "needs =FRACTION"),
    ]
    for bad, message in bad_specs:
        with pytest.raises(InputError, match=message):
            parse_faults([bad])


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--fault", "boom@1s"], "unknown fault 'boom'"),
        (["--footswitch", "sometimes"], "unknown footswitch mode"),
        (["--time-scale", "0"], "time scale must be between"),
        (["--profile", "nope"], "no device profile 'nope'"),
        (["--listen", "udp://x:1"], "scheme must be tcp:// or serial://"),
    ],
)
def test_simulate_rejects_bad_options_with_one_line(cli, args, message):
    result = cli("device", "simulate", *args)
    assert result.exit_code == 2 and message in result.stderr and "Traceback" not in result.output


def test_diagram_command_prints_the_generated_diagram(cli):
    from laserdose.device.states import mermaid_diagram

    result = cli("device", "diagram")
    assert result.exit_code == 0 and result.stdout.strip() == mermaid_diagram()

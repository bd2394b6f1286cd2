"""``loa devices …``, ``loa broker …``, ``loa gateway run``: the fleet from the command line."""

from __future__ import annotations

import contextlib
from pathlib import Path

import typer
from sqlalchemy import select

from loa import eventloop
from loa.cli_support import cli_context, echo, fail
from loa.fleet import credentials, mosquitto, queries, runner, service
from loa.protocol.topics import Topics
from loa.vocab.numbers import number_text

app = typer.Typer(help="Cụm loa (thiết bị truyền thanh thông minh).", no_args_is_help=True)
broker_app = typer.Typer(help="Máy chủ MQTT (broker) cho cụm loa.", no_args_is_help=True)
gateway_app = typer.Typer(help="Cổng kết nối MQTT ↔ cơ sở dữ liệu.", no_args_is_help=True)


@app.command("add")
def add(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Tên cụm loa"),
    commune_code: str | None = typer.Option(None, "--commune", help="Mã xã/phường"),
    village: str = typer.Option("", help="Thôn/tổ dân phố"),
) -> None:
    """Thêm một cụm loa và in mã đăng ký dùng một lần."""
    from loa.errors import NotFound
    from loa.units.models import AdminUnit

    c = cli_context(ctx)
    with c.session() as s:
        commune_id = None
        if commune_code:
            unit = s.scalar(select(AdminUnit).where(AdminUnit.code == commune_code))
            if unit is None:
                raise NotFound(f"Không tìm thấy đơn vị hành chính mã {commune_code}.")
            commune_id = unit.id
        device = service.create_device(s, name=name, commune_id=commune_id, village=village)
        code = service.issue_enrol_code(s, device=device)
        echo(f"Đã thêm cụm loa {device.name} (mã thiết bị {device.uid}).")
        echo(f"Mã đăng ký (dùng một lần, hết hạn sau 7 ngày): {code}")


@app.command("list")
def list_devices(ctx: typer.Context) -> None:
    """Liệt kê các cụm loa."""
    c = cli_context(ctx)
    with c.session() as s:
        rows = queries.list_devices(s, principal=None)
        for row in rows:
            d = row.device
            state = "trực tuyến" if d.online else "mất kết nối"
            echo(f"{d.uid}\t{d.name}\t{row.commune_name or '-'}\t{state}\tlịch v{d.manifest_version or '-'}")
        echo(f"Tổng cộng {number_text(len(rows))} cụm loa.")


@app.command("enrol-code")
def enrol_code(
    ctx: typer.Context,
    device_id: str,
    svg: Path | None = typer.Option(None, help="Ghi mã QR (SVG) vào tệp này"),
) -> None:
    """Tạo mã đăng ký mới cho một cụm loa (mã cũ mất hiệu lực)."""
    c = cli_context(ctx)
    with c.session() as s:
        device = service.get_device(s, uid=device_id)
        code = service.issue_enrol_code(s, device=device)
    echo(f"Mã đăng ký của {device_id}: {code}")
    if svg is not None:
        from loa.fleet.qr import enrol_qr

        enrol_qr(code).save(str(svg), kind="svg", scale=6)
        echo(f"Đã ghi mã QR vào {svg}.")


@broker_app.command("config")
def broker_config(
    ctx: typer.Context,
    out: Path = typer.Option(..., "--out", help="Thư mục ghi mosquitto.conf, passwd, acl"),
    port: int = typer.Option(1883, help="Cổng MQTT của Mosquitto"),
    bind: str = typer.Option("0.0.0.0", help="Địa chỉ lắng nghe"),
    tls_port: int | None = typer.Option(None, "--tls-port", help="Cổng MQTT qua TLS cho thiết bị (vd. 8883)"),
    certfile: Path | None = typer.Option(None, "--certfile", help="Chứng chỉ máy chủ (PEM, kèm chuỗi CA)"),
    keyfile: Path | None = typer.Option(None, "--keyfile", help="Khóa riêng của chứng chỉ (PEM)"),
    run_as: str = typer.Option("mosquitto", "--user", help="Tài khoản hệ thống mà Mosquitto chạy dưới tên"),
    persistence_dir: Path | None = typer.Option(
        None, "--persistence-dir", help="Thư mục lưu dữ liệu của Mosquitto (mặc định: <out>/data)"
    ),
    pid_file: Path | None = typer.Option(
        None, "--pid-file", help="Tệp PID của Mosquitto (vd. /run/mosquitto/mosquitto.pid)"
    ),
    gateways: int = typer.Option(1, "--gateways", min=1, max=99, help="Số cổng kết nối chạy song song"),
) -> None:
    """Sinh cấu hình Mosquitto: mật khẩu PBKDF2 $7$, ACL theo mẫu loa/d/%u/…, lưu bền, cổng TLS tùy chọn."""
    c = cli_context(ctx)
    if tls_port is not None and (certfile is None or keyfile is None):
        fail("Cổng TLS cần cả --certfile và --keyfile.")
    for path in (certfile, keyfile):
        if path is not None and not path.is_file():
            fail(f"Không tìm thấy tệp {path}.")
    backend = runner.backend_accounts(c.settings, gateways)
    with c.session() as s:
        devices = queries.device_password_entries(s)
    entries = [*devices, *((u, credentials.mosquitto_hash(p)) for u, p in backend)]
    paths = mosquitto.write_config(
        out,
        topics=Topics(c.settings.mqtt_topic_prefix),
        options=mosquitto.MosquittoOptions(
            bind_host=bind,
            port=port,
            tls_port=tls_port,
            certfile=certfile.resolve() if certfile else None,
            keyfile=keyfile.resolve() if keyfile else None,
            persistence_dir=(persistence_dir or out / "data").resolve(),
            pid_file=pid_file.resolve() if pid_file else None,
            run_as_user=run_as,
        ),
        passwords=entries,
        backend_users=[u for u, _ in backend],
    )
    accounts = number_text(len(entries))
    echo(f"Đã ghi {paths['conf']}, {paths['passwords']} ({accounts} tài khoản), {paths['acl']}.")
    echo(f"Dữ liệu lưu bền của Mosquitto: {paths['persistence']}.")
    _explain_ownership(paths, run_as)
    echo(
        "Đặt LOA_MOSQUITTO_PASSWORD_FILE (và LOA_MOSQUITTO_PID_FILE) để «loa gateway run» tự cập nhật "
        "tệp mật khẩu khi đăng ký thiết bị; nếu không, chạy lại lệnh này rồi gửi SIGHUP cho mosquitto."
    )


def _explain_ownership(paths: dict[str, Path], user: str) -> None:
    """Tell what the account Mosquitto runs as can read, and how to start it."""
    ids = mosquitto.account_ids(user)
    if ids is None:
        echo(
            f"Tệp mật khẩu chỉ người dùng hiện tại đọc được: chạy mosquitto bằng chính người dùng này, "
            f"hoặc chạy lại lệnh này bằng root để giao các tệp cho tài khoản «{user}»."
        )
    else:
        echo(f"Tệp mật khẩu, ACL và thư mục dữ liệu đã giao cho tài khoản «{user}».")
        blocked = mosquitto.blocked_parent(paths["passwords"], ids)
        if blocked is not None:
            echo(f"Cảnh báo: tài khoản «{user}» không vào được thư mục {blocked}; hãy chọn thư mục khác.")
    echo(f"Chạy với systemd: chép {paths['systemd']} vào /etc/systemd/system/mosquitto.service.d/loa.conf.")


@broker_app.command("nats-config")
def broker_nats_config(
    ctx: typer.Context,
    out: Path = typer.Option(..., "--out", help="Thư mục ghi cấu hình các nút và accounts.conf"),
    node: list[str] = typer.Option(
        [], "--node", help="Một nút của cụm: tên@địa-chỉ (lặp lại cho mỗi nút; cùng các cổng mặc định)"
    ),
    nodes: int = typer.Option(
        3, "--nodes", min=1, max=9, help="Số nút chạy trên cùng một máy (khi không có --node)"
    ),
    host: str = typer.Option("127.0.0.1", "--host", help="Địa chỉ lắng nghe của các nút trên cùng một máy"),
    first_port: int = typer.Option(
        4222,
        "--first-port",
        help="Cổng đầu tiên (mỗi nút dùng bốn cổng liên tiếp: NATS, MQTT, cụm, giám sát)",
    ),
    gateways: int = typer.Option(1, "--gateways", min=1, max=99, help="Số cổng kết nối chạy song song"),
) -> None:
    """Sinh cấu hình cụm NATS (MQTT + JetStream): mỗi thiết bị một tài khoản, chỉ dùng chủ đề của mình."""
    from loa.fleet import nats

    c = cli_context(ctx)
    if node:
        parsed = []
        for item in node:
            name, sep, address = item.partition("@")
            if not sep or not name or not address:
                fail(f"Nút «{item}» không đúng dạng tên@địa-chỉ.")
            parsed.append(nats.NatsNode(name=name, host=address))
        cluster = parsed
    else:
        cluster = nats.same_host_nodes(nodes, host=host, first_port=first_port)
    backend = [(u, credentials.bcrypt_hash(p)) for u, p in runner.backend_accounts(c.settings, gateways)]
    with c.session() as s:
        devices = queries.device_bcrypt_entries(s)
    try:
        paths = nats.write_cluster_config(
            out, topics=Topics(c.settings.mqtt_topic_prefix), nodes=cluster, devices=devices, backend=backend
        )
    except ValueError:
        fail("Tên các nút phải khác nhau.")
    echo(f"Đã ghi {paths['accounts']} ({number_text(len(devices))} thiết bị).")
    for n in cluster:
        ports = f"MQTT cổng {n.mqtt_port}, NATS cổng {n.client_port}"
        echo(f"Nút {n.name}: nats-server -c {paths[n.name]} ({ports}).")
    echo("Sau khi đăng ký thêm thiết bị: chạy lại lệnh này rồi gửi SIGHUP cho mọi nút.")


@broker_app.command("run")
def broker_run(
    ctx: typer.Context, with_gateway: bool = typer.Option(True, help="Chạy cả cổng kết nối")
) -> None:
    """Chạy broker MQTT nhúng (amqtt) trên cổng LOA_MQTT_PORT (mặc định 1884)."""
    c = cli_context(ctx)
    echo(f"Broker MQTT nhúng tại {c.settings.mqtt_host}:{c.settings.mqtt_port}.")
    with contextlib.suppress(KeyboardInterrupt):
        eventloop.run(
            runner.run_fleet(c.settings, c.engine, c.process, with_broker=True, with_gateway=with_gateway)
        )


@gateway_app.command("run")
def gateway_run(ctx: typer.Context) -> None:
    """Chạy cổng kết nối; ở chế độ nhúng (LOA_MQTT_MODE=embedded) chạy cả broker."""
    c = cli_context(ctx)
    embedded = c.settings.mqtt_mode == "embedded"
    with contextlib.suppress(KeyboardInterrupt):
        eventloop.run(
            runner.run_fleet(c.settings, c.engine, c.process, with_broker=embedded, with_gateway=True)
        )

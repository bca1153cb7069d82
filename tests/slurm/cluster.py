"""A throwaway single-node SLURM cluster on this machine, for tests (not a test module).

Brings up munged, MariaDB, slurmdbd, slurmctld and slurmd, each as a background process whose
PID is recorded, and stops exactly those PIDs afterwards (never by name). Configs, state,
database and logs live in a temporary directory. Daemons and client commands read the
cluster's ``slurm.conf`` through ``SLURM_CONF`` (slurmdbd.conf and gres.conf are found beside
it); MariaDB and the SLURM daemons listen on free ports of 127.0.0.1. Two things cannot be
private, and are used only where nothing else is:

- munge: SLURM 22.05 reaches munged on its default socket only. A munged already answering
  there is used; otherwise one is started there with a key of the cluster's own.
- /etc/slurm/slurm.conf: the srun that runs inside every job finds the config only there
  (the jobstep plugin removes SLURM_CONF from its environment). The cluster links its config
  there while it runs, and only when no such file exists; :func:`missing_prerequisites`
  refuses a machine with a SLURM setup of its own.

The node has fake GPUs (gres ``gpu:fake:N`` backed by empty files), so jobs asking
``--gpus=1`` or ``--gres=gpu:1`` are scheduled; their code runs on the CPU. Use it as a
context manager::

    with SlurmCluster() as cluster:
        subprocess.run(["sbatch", ...], env=cluster.env)   # SLURM_CONF points at this cluster

Needs root on Debian with the packages ``slurmctld slurmd slurm-client slurmdbd munge
mariadb-server``. Starting takes about 5 s once the packages are installed.
"""

from __future__ import annotations

import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

CLUSTER = "tdprtest"
NODE = "tdprnode"
PARTITION = "tdpr-debug"
ACCOUNT = "tdpr-test"
MUNGE_SOCKET = Path("/run/munge/munge.socket.2")  # munge's default, the only one SLURM uses
#: Where srun looks when SLURM_CONF is unset, as it is inside every job: the jobstep plugin
#: (snakemake-executor-plugin-slurm-jobstep 0.6.1) strips SLURM_* variables, SLURM_CONF
#: included, from the environment of the srun it starts. The cluster links its own config here
#: for its lifetime, and only where no file exists.
DEFAULT_CONF = Path("/etc/slurm/slurm.conf")
TMP_PREFIX = "tdpr-slurm-"

#: Executables the cluster needs (Debian packages in the comments).
BINARIES = {
    "munged": "munge",
    "mariadbd": "mariadb-server",
    "mariadb-install-db": "mariadb-server",
    "mariadb": "mariadb-client (pulled in by mariadb-server)",
    "slurmdbd": "slurmdbd",
    "slurmctld": "slurmctld",
    "slurmd": "slurmd",
    "sbatch": "slurm-client",
    "squeue": "slurm-client",
    "sacct": "slurm-client",
    "sacctmgr": "slurm-client",
    "scontrol": "slurm-client",
    "scancel": "slurm-client",
    "sinfo": "slurm-client",
}


def missing_prerequisites() -> str | None:
    """Why a cluster cannot be started here, or None when everything is in place."""
    if os.geteuid() != 0:
        return "needs root (the SLURM daemons run as root, munge and MariaDB as their users)"
    if not Path("/etc/debian_version").exists():
        return "needs Debian (package layout of slurm-wlm 22.05 and mariadb-server)"
    missing = sorted({pkg for exe, pkg in BINARIES.items() if shutil.which(exe) is None})
    if missing:
        return "missing Debian packages: " + ", ".join(missing)
    if (DEFAULT_CONF.exists() or DEFAULT_CONF.is_symlink()) and not _stale_link(DEFAULT_CONF):
        if DEFAULT_CONF.is_symlink() and TMP_PREFIX in os.readlink(DEFAULT_CONF):
            return f"another test cluster is running ({DEFAULT_CONF} -> its config)"
        return f"{DEFAULT_CONF} exists: this machine has a SLURM setup of its own; not touching it"
    for user in ("munge", "mysql"):
        try:
            pwd.getpwnam(user)
        except KeyError:
            return f"no system user {user!r} (created by the munge / mariadb-server packages)"
    return None


def _stale_link(path: Path) -> bool:
    """A link left by a test cluster that was killed before it could remove it.

    Ours if it points into a ``tdpr-slurm-*`` temporary directory; stale if that directory is
    gone or the slurmctld whose PID it recorded no longer runs.
    """
    if not path.is_symlink():
        return False
    target = Path(os.readlink(path))
    root = target.parent.parent  # <root>/etc/slurm.conf
    if not str(root).startswith(os.path.join(tempfile.gettempdir(), TMP_PREFIX)):
        return False
    try:
        pid = int((root / "run" / "slurmctld.pid").read_text())
        return "slurmctld" not in Path(f"/proc/{pid}/cmdline").read_text()
    except (OSError, ValueError):
        return True


class ClusterError(RuntimeError):
    """A daemon did not start or did not become ready in time (message holds its log tail)."""


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return f"(no log at {path})"


def _mem_total_mb() -> int:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) // 1024
    raise ClusterError("no MemTotal in /proc/meminfo")


class SlurmCluster:
    """A single-node SLURM cluster with accounting, living in a temporary directory.

    Args:
        cpus: CPUs of the node (default: all of this machine's).
        memory_mb: RealMemory of the node (default: three quarters of this machine's, at
            least 64 GB; SlurmdParameters=config_overrides lets slurmd accept more than it has).
        gpus: fake GPUs of the node (gres ``gpu:fake:N``; nothing behind them).
        keep: leave the state directory (configs, daemon logs) behind after :meth:`stop`.
    """

    def __init__(
        self,
        cpus: int | None = None,
        memory_mb: int | None = None,
        gpus: int = 4,
        keep: bool = False,
    ) -> None:
        self.cpus = cpus or os.cpu_count() or 1
        self.gpus = gpus
        # Memory is not enforced on this node (no cgroups), and the tiny configurations use
        # little of it: claiming at least 64 GB lets rules that declare a big machine's memory
        # (train_model asks 16 GB) be scheduled side by side on a small test machine.
        self.memory_mb = memory_mb or max(_mem_total_mb() * 3 // 4, 65536)
        self.keep = keep
        self.root: Path | None = None
        self.account, self.partition = ACCOUNT, PARTITION
        self._procs: list[tuple[str, subprocess.Popen, Path]] = []
        self._linked = False
        self.env: dict[str, str] = dict(os.environ)

    # ---- public ----------------------------------------------------------------------------

    def __enter__(self) -> SlurmCluster:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        """Write the configs, start the five daemons in order, wait for each, add the account."""
        self.root = Path(tempfile.mkdtemp(prefix=TMP_PREFIX))
        self.root.chmod(0o755)  # munge and mysql must reach their own subfolders
        try:
            self._layout()
            self._link_default_conf()
            self._start_munge()
            self._start_mariadb()
            self._start_slurmdbd()
            self._start_slurmctld()
            self._start_slurmd()
            self._add_account()
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        """Cancel this cluster's jobs, then stop the daemons started here by PID, newest first."""
        if self._alive("slurmctld"):
            self.run(["scancel", "--user", "root"], check=False)
            self._wait(lambda: not self.squeue(), 30, "cancelled jobs to leave the queue", None)
        for _name, proc, _out in reversed(self._procs):
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(timeout=10)
        self._procs.clear()
        if self._linked and DEFAULT_CONF.is_symlink():
            if os.readlink(DEFAULT_CONF) == self.env["SLURM_CONF"]:
                DEFAULT_CONF.unlink()
            self._linked = False
        if self.root is not None and not self.keep:
            shutil.rmtree(self.root, ignore_errors=True)

    def run(
        self, cmd: list[str], check: bool = True, timeout: float = 30
    ) -> subprocess.CompletedProcess:
        """Run a client command (sacct, squeue, ...) against this cluster."""
        result = subprocess.run(
            cmd, env=self.env, capture_output=True, text=True, timeout=timeout, check=False
        )
        if check and result.returncode != 0:
            raise ClusterError(f"{' '.join(cmd)} failed ({result.returncode}): {result.stderr}")
        return result

    def squeue(self) -> list[str]:
        """``jobid|state|name`` of every job the controller still lists as pending/running."""
        out = self.run(["squeue", "-h", "-o", "%i|%T|%j"], check=False).stdout
        return [line for line in out.splitlines() if line.strip()]

    def sacct(self, fields: str = "JobID,JobName,State,Comment") -> list[dict[str, str]]:
        """Every job (allocations, not steps) in the accounting database, one dict per job."""
        out = self.run(
            ["sacct", "-a", "-X", "-n", "--parsable2", "-S", "2000-01-01", f"--format={fields}"]
        ).stdout
        names = fields.split(",")
        rows = [line.split("|", len(names) - 1) for line in out.splitlines() if line]
        return [dict(zip(names, row, strict=True)) for row in rows]

    def log(self, daemon: str) -> str:
        """The tail of one daemon's log (for failure messages)."""
        assert self.root is not None
        where = {"munged": "munge/munged.log", "mariadbd": "mysql-run/mariadbd.log"}
        return _tail(self.root / where.get(daemon, f"log/{daemon}.log"), 60)

    # ---- setup -----------------------------------------------------------------------------

    def _layout(self) -> None:
        root = self.root
        assert root is not None
        for sub in ("etc", "log", "ctld", "spool", "run"):
            (root / sub).mkdir()
        host = socket.gethostname().split(".")[0]
        self.ports = {k: _free_port() for k in ("ctld", "slurmd", "dbd", "mysql")}
        self.mysql_socket = root / "mysql-run" / "mysql.sock"
        self.db_password = secrets.token_hex(12)
        auth = "AuthType=auth/munge\n"
        conf = root / "etc" / "slurm.conf"
        conf.write_text(
            f"ClusterName={CLUSTER}\nSlurmctldHost={host}(127.0.0.1)\n{auth}"
            "CredType=cred/munge\nSlurmUser=root\nSlurmdUser=root\n"
            f"SlurmctldPort={self.ports['ctld']}\nSlurmdPort={self.ports['slurmd']}\n"
            f"StateSaveLocation={root / 'ctld'}\nSlurmdSpoolDir={root / 'spool'}\n"
            f"SlurmctldPidFile={root / 'run/slurmctld.pid'}\n"
            f"SlurmdPidFile={root / 'run/slurmd.pid'}\n"
            f"SlurmctldLogFile={root / 'log/slurmctld.log'}\n"
            f"SlurmdLogFile={root / 'log/slurmd.log'}\n"
            # No cgroups on a CI machine without systemd: plain process tracking, no task plugin.
            "ProctrackType=proctrack/linuxproc\nTaskPlugin=task/none\n"
            "JobAcctGatherType=jobacct_gather/none\n"
            "SelectType=select/cons_tres\nSelectTypeParameters=CR_Core_Memory\n"
            "DefMemPerCPU=1000\nMailProg=/bin/true\nReturnToService=2\n"
            "SlurmdParameters=config_overrides\n"
            # Kill quickly at a time limit (SIGTERM, then SIGKILL after KillWait seconds);
            # keep finished jobs in squeue for 5 minutes so squeue status checks see them.
            "KillWait=5\nMinJobAge=300\nInactiveLimit=0\n"
            "SchedulerParameters=sched_interval=2\n"  # start queued jobs within 2 s
            "AccountingStorageType=accounting_storage/slurmdbd\n"
            f"AccountingStorageHost=127.0.0.1\nAccountingStoragePort={self.ports['dbd']}\n"
            "AccountingStoreFlags=job_comment\nAccountingStorageTRES=gres/gpu\n"
            "GresTypes=gpu\n"
            f"NodeName={NODE} NodeAddr=127.0.0.1 NodeHostname={host} CPUs={self.cpus} "
            f"RealMemory={self.memory_mb} Gres=gpu:fake:{self.gpus} State=UNKNOWN\n"
            f"PartitionName={PARTITION} Nodes={NODE} Default=YES MaxTime=INFINITE State=UP\n"
        )
        # A GPU gres needs one device file per GPU; empty files stand in for /dev/nvidia*.
        (root / "dev").mkdir()
        for i in range(self.gpus):
            (root / "dev" / f"fakegpu{i}").touch()
        files = f"{root / 'dev'}/fakegpu[0-{self.gpus - 1}]"
        (root / "etc" / "gres.conf").write_text(
            f"NodeName={NODE} Name=gpu Type=fake File={files}\n"
        )
        dbd = root / "etc" / "slurmdbd.conf"
        dbd.write_text(
            f"{auth}DbdHost={host}\nDbdAddr=127.0.0.1\nDbdPort={self.ports['dbd']}\n"
            f"SlurmUser=root\nLogFile={root / 'log/slurmdbd.log'}\n"
            f"PidFile={root / 'run/slurmdbd.pid'}\n"
            "StorageType=accounting_storage/mysql\n"
            f"StorageHost=127.0.0.1\nStoragePort={self.ports['mysql']}\n"
            f"StorageUser=slurm\nStoragePass={self.db_password}\nStorageLoc=slurm_acct_db\n"
        )
        dbd.chmod(0o600)  # slurmdbd refuses a config others can read (it holds a password)
        self.env = {**os.environ, "SLURM_CONF": str(conf)}

    def _link_default_conf(self) -> None:
        if _stale_link(DEFAULT_CONF):
            DEFAULT_CONF.unlink()
        DEFAULT_CONF.parent.mkdir(parents=True, exist_ok=True)
        DEFAULT_CONF.symlink_to(self.env["SLURM_CONF"])  # fails if a file appeared meanwhile
        self._linked = True

    def _spawn(self, name: str, cmd: list[str], user: str | None = None) -> subprocess.Popen:
        assert self.root is not None
        out = self.root / "log" / f"{name}.out"
        with open(out, "ab") as fh:
            proc = subprocess.Popen(
                cmd,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=fh,
                stderr=subprocess.STDOUT,
                user=user,
                start_new_session=True,  # a Ctrl-C in the test run reaches stop(), not them
            )
        self._procs.append((name, proc, out))
        return proc

    def _alive(self, name: str) -> bool:
        return any(n == name and p.poll() is None for n, p, _ in self._procs)

    def _wait(
        self, ready: Callable[[], bool], timeout: float, what: str, daemon: str | None
    ) -> None:
        """Poll ``ready`` every 0.2 s; fail with the daemon's log if it dies or time runs out."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if ready():
                    return
            except (subprocess.TimeoutExpired, OSError):
                pass
            if daemon is not None and not self._alive(daemon):
                break
            time.sleep(0.2)
        else:
            if daemon is None:
                return  # best-effort waits (teardown) do not raise
        detail = ""
        if daemon is not None:
            assert self.root is not None
            out = self.root / "log" / f"{daemon}.out"
            detail = f"\n--- {daemon} output ---\n{_tail(out)}\n--- {daemon} log ---\n"
            detail += self.log(daemon)
        state = "died" if daemon and not self._alive(daemon) else f"not ready after {timeout} s"
        raise ClusterError(f"{daemon or 'cluster'} {state}: waiting for {what}{detail}")

    def _ok(self, cmd: list[str], timeout: float = 10) -> bool:
        return self.run(cmd, check=False, timeout=timeout).returncode == 0

    def _start_munge(self) -> None:
        """Use a munged already serving the default socket, else start one there.

        SLURM 22.05's accounting connections (sacctmgr, sacct -> slurmdbd) ignore AuthInfo's
        socket and always use munge's default socket, so the cluster cannot use a private one.
        """
        if self._ok(["sh", "-c", "munge -n | unmunge"]):
            return  # a working munged (the system's) signs for everyone on this machine
        root = self.root
        assert root is not None
        munge = pwd.getpwnam("munge")
        mdir = root / "munge"
        mdir.mkdir(mode=0o700)
        key = mdir / "munge.key"
        key.write_bytes(os.urandom(1024))  # this cluster's own key; /etc/munge is not touched
        key.chmod(0o400)
        for path in (mdir, key):
            os.chown(path, munge.pw_uid, munge.pw_gid)
        if not MUNGE_SOCKET.parent.exists():  # what the munge package's tmpfiles.d would make
            MUNGE_SOCKET.parent.mkdir(mode=0o755)
            os.chown(MUNGE_SOCKET.parent, munge.pw_uid, munge.pw_gid)
        self._spawn(
            "munged",
            ["munged", "--foreground", "--force", f"--socket={MUNGE_SOCKET}",
             f"--key-file={key}", f"--pid-file={mdir / 'munged.pid'}",
             f"--seed-file={mdir / 'munged.seed'}", f"--log-file={mdir / 'munged.log'}"],
            user="munge",
        )  # fmt: skip
        self._wait(
            lambda: self._ok(["sh", "-c", "munge -n | unmunge"]), 15, "munge -n | unmunge", "munged"
        )

    def _start_mariadb(self) -> None:
        root = self.root
        assert root is not None
        data, run = root / "mysql", root / "mysql-run"
        run.mkdir()  # mariadbd runs as mysql: its socket, pid and log live in a folder of its own
        mysql = pwd.getpwnam("mysql")
        os.chown(run, mysql.pw_uid, mysql.pw_gid)
        init = subprocess.run(
            ["mariadb-install-db", "--no-defaults", "--user=mysql", f"--datadir={data}",
             "--auth-root-authentication-method=socket", "--skip-test-db"],
            capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
        if init.returncode != 0:
            raise ClusterError(f"mariadb-install-db failed: {init.stdout}{init.stderr}")
        self._spawn(
            "mariadbd",
            ["mariadbd", "--no-defaults", "--user=mysql", f"--datadir={data}",
             f"--socket={self.mysql_socket}", f"--port={self.ports['mysql']}",
             "--bind-address=127.0.0.1", "--skip-name-resolve",
             f"--pid-file={run / 'mariadbd.pid'}", f"--log-error={run / 'mariadbd.log'}",
             "--innodb-buffer-pool-size=64M", "--innodb-log-file-size=16M"],
        )  # fmt: skip
        sql = ["mariadb", "--no-defaults", f"--socket={self.mysql_socket}", "-uroot", "-e"]
        self._wait(lambda: self._ok([*sql, "select 1"]), 60, "select 1", "mariadbd")
        grant = "".join(
            f"CREATE USER 'slurm'@'{h}' IDENTIFIED BY '{self.db_password}';"
            f"GRANT ALL ON slurm_acct_db.* TO 'slurm'@'{h}';"
            for h in ("127.0.0.1", "localhost")
        )
        self.run([*sql, grant])

    def _start_slurmdbd(self) -> None:
        self._spawn("slurmdbd", ["slurmdbd", "-D"])
        self._wait(
            lambda: self._ok(["sacctmgr", "-n", "show", "cluster"]), 60, "sacctmgr", "slurmdbd"
        )
        self.run(["sacctmgr", "-i", "add", "cluster", CLUSTER])

    def _start_slurmctld(self) -> None:
        assert self.root is not None
        self._spawn("slurmctld", ["slurmctld", "-D", "-i", "-f", self.env["SLURM_CONF"]])
        self._wait(
            lambda: "UP" in self.run(["scontrol", "ping"], check=False).stdout,
            30,
            "scontrol ping",
            "slurmctld",
        )

    def _start_slurmd(self) -> None:
        self._spawn("slurmd", ["slurmd", "-D", "-N", NODE, "-f", self.env["SLURM_CONF"]])
        try:
            self._wait(
                lambda: self.run(["sinfo", "-h", "-o", "%t"], check=False).stdout.strip() == "idle",
                30,
                "sinfo to show the node idle",
                "slurmd",
            )
        except ClusterError as err:  # a drained node says why (e.g. gres or memory mismatch)
            reasons = self.run(["sinfo", "-R"], check=False).stdout
            raise ClusterError(f"{err}\n--- sinfo -R ---\n{reasons}") from None

    def _add_account(self) -> None:
        self.run(
            ["sacctmgr", "-i", "add", "account", ACCOUNT, f"Cluster={CLUSTER}",
             "Description=tdpr tests", "Organization=tdpr"]
        )  # fmt: skip
        user = pwd.getpwuid(os.geteuid()).pw_name
        self.run(["sacctmgr", "-i", "add", "user", user, f"Account={ACCOUNT}"])
        # The executor plugin validates the account with this very listing.
        listing = ["sacctmgr", "-n", "-s", "list", "user", user, "format=account%64"]
        self._wait(
            lambda: ACCOUNT in self.run(listing, check=False).stdout,
            15,
            f"account {ACCOUNT}",
            "slurmdbd",
        )

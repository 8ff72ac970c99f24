"""A throwaway one-node Slurm cluster for tests: munged with a temporary key,
slurmctld and slurmd with a temporary slurm.conf, all state, spool, pid and
log files in one temporary folder, private ports, and every daemon stopped
by its PID.

Slurm here is Debian's (slurmctld, slurmd, slurm-client, munge). It runs
without cgroups (proctrack/linuxproc, task/none), which is what a container
or a CI VM allows. Daemons run as root (Slurm's SlurmUser) and munge's
user (munged refuses root)."""
import os
import pwd
import shutil
import signal
import socket
import subprocess
import time


class SlurmUnavailable(RuntimeError):
    """Slurm could not start here; the message says why."""


def _free_port_pair():
    # Two adjacent ports (slurmctld, slurmd) at a random place in
    # 20000-38000, away from Slurm's defaults (6817, 6818) and checked free
    # by binding them, so that test runs side by side do not collide.
    rng = int.from_bytes(os.urandom(2), "little")
    for i in range(200):
        port = 20000 + (rng + 37 * i) % 9000 * 2
        ok = True
        for p in (port, port + 1):
            with socket.socket() as s:
                try:
                    s.bind(("127.0.0.1", p))
                except OSError:
                    ok = False
        if ok:
            return port, port + 1
    raise SlurmUnavailable("no two free TCP ports found in 20000-38000")


def _mem_mb():
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) // 1024
    return 1024


class Cluster:
    def __init__(self, root):
        self.root = os.path.abspath(root)
        self.procs = {}
        self.env = dict(os.environ)

    def _need(self, *tools):
        missing = [t for t in tools if not shutil.which(t, path=os.environ.get("PATH", "") + ":/usr/sbin:/sbin")]
        if missing:
            raise SlurmUnavailable(f"not installed: {' '.join(missing)} (make installs slurmctld slurmd slurm-client munge)")

    def _tool(self, name):
        return shutil.which(name, path=os.environ.get("PATH", "") + ":/usr/sbin:/sbin")

    def _start(self, name, argv, log, user=None):
        out = open(log, "ab")
        pre = []
        if user is not None:
            pw = pwd.getpwnam(user)
            pre = [self._tool("setpriv"), f"--reuid={pw.pw_uid}", f"--regid={pw.pw_gid}", "--clear-groups", "--"]
        self.procs[name] = subprocess.Popen(pre + argv, stdout=out, stderr=subprocess.STDOUT,
                                            env=self.env, start_new_session=True)

    def _alive_or_raise(self, name, log):
        p = self.procs[name]
        if p.poll() is not None:
            tail = open(log, errors="replace").read()[-1500:]
            raise SlurmUnavailable(f"{name} exited with code {p.returncode}; its log ends:\n{tail}")

    def start(self, timeout=30):
        if os.geteuid() != 0:
            raise SlurmUnavailable("the local Slurm cluster needs root (slurmd runs jobs as their user)")
        self._need("munged", "mungekey", "slurmctld", "slurmd", "sbatch", "squeue", "scontrol", "scancel", "setpriv")
        try:
            pwd.getpwnam("munge")
        except KeyError:
            raise SlurmUnavailable("no 'munge' user (the munge package creates it)")
        r = self.root
        os.makedirs(r, exist_ok=True)
        # munged checks that its key and socket directory belong to it and
        # are not writable by others; the socket must be reachable by all.
        mdir = os.path.join(r, "munge")
        os.makedirs(mdir, exist_ok=True)
        pw = pwd.getpwnam("munge")
        os.chown(mdir, pw.pw_uid, pw.pw_gid)
        os.chmod(mdir, 0o711)
        os.chmod(r, 0o755)
        key = os.path.join(mdir, "munge.key")
        subprocess.run([self._tool("mungekey"), "--create", f"--keyfile={key}", "--force"], check=True,
                       capture_output=True)
        os.chown(key, pw.pw_uid, pw.pw_gid)
        os.chmod(key, 0o600)
        self.munge_socket = os.path.join(mdir, "munge.socket")
        mlog = os.path.join(r, "munged.log")
        self._start("munged", [self._tool("munged"), "-F", f"--key-file={key}", f"--socket={self.munge_socket}",
                               f"--pid-file={mdir}/munged.pid", f"--seed-file={mdir}/munged.seed",
                               f"--log-file={mlog}"], mlog, user="munge")

        def munge_up():
            self._alive_or_raise("munged", mlog)
            return os.path.exists(self.munge_socket)

        self._wait(munge_up, 10, "munged", mlog)

        host = socket.gethostname().split(".")[0]
        ctld_port, d_port = _free_port_pair()
        for d in ("state", "spool", "logs"):
            os.makedirs(os.path.join(r, d), exist_ok=True)
        self.conf = os.path.join(r, "slurm.conf")
        cpus = os.cpu_count() or 1
        mem = max(256, _mem_mb() // 2)
        with open(self.conf, "w") as f:
            f.write(f"""\
# One-node test cluster (tests/slurm_cluster.py); no cgroups.
ClusterName=monolabtest
SlurmctldHost={host}(127.0.0.1)
SlurmctldPort={ctld_port}
SlurmdPort={d_port}
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket={self.munge_socket}
CredType=cred/munge
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SchedulerType=sched/backfill
SchedulerParameters=sched_interval=1
ReturnToService=2
MailProg=/bin/true
StateSaveLocation={r}/state
SlurmdSpoolDir={r}/spool
SlurmctldPidFile={r}/slurmctld.pid
SlurmdPidFile={r}/slurmd.pid
SlurmctldLogFile={r}/logs/slurmctld.log
SlurmdLogFile={r}/logs/slurmd.log
SlurmctldTimeout=30
SlurmdTimeout=30
MinJobAge=600
NodeName={host} NodeAddr=127.0.0.1 CPUs={cpus} RealMemory={mem} State=UNKNOWN
PartitionName=test Nodes={host} Default=YES MaxTime=INFINITE State=UP
""")
        self.env["SLURM_CONF"] = self.conf
        clog = os.path.join(r, "logs", "slurmctld.out")
        self._start("slurmctld", [self._tool("slurmctld"), "-D", "-c", "-f", self.conf], clog)
        dlog = os.path.join(r, "logs", "slurmd.out")
        self._start("slurmd", [self._tool("slurmd"), "-D", "-c", "-f", self.conf], dlog)

        def idle():
            self._alive_or_raise("slurmctld", os.path.join(r, "logs", "slurmctld.log"))
            self._alive_or_raise("slurmd", os.path.join(r, "logs", "slurmd.log"))
            p = subprocess.run(["sinfo", "-h", "-o", "%t"], capture_output=True, text=True, env=self.env)
            return p.returncode == 0 and p.stdout.strip() == "idle"

        self._wait(idle, timeout, "the node to become idle", os.path.join(r, "logs", "slurmctld.log"))

    def _wait(self, cond, timeout, what, log):
        t0 = time.time()
        while time.time() - t0 < timeout:
            if cond():
                return
            time.sleep(0.2)
        tail = open(log, errors="replace").read()[-1500:] if os.path.exists(log) else "(no log)"
        raise SlurmUnavailable(f"timed out after {timeout} s waiting for {what}; log ends:\n{tail}")

    def run(self, args, **kw):
        return subprocess.run(args, capture_output=True, text=True, env=self.env, **kw)

    def stop(self):
        # Slurm daemons first (they still talk to munged), each by its PID.
        for name in ("slurmd", "slurmctld", "munged"):
            p = self.procs.pop(name, None)
            if p is None or p.poll() is not None:
                continue
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()

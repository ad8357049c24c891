#!/usr/bin/python3
"""yz vs OpenDHT, side by side on loopback (issue 6). Run through bench/compare/run.

For each network size N it starts an OpenDHT network of N nodes and a yz network
of N DHT nodes on 127.0.0.1, then measures both the same way, alternating
between them round by round:

  ready time            launch -> every node ready (definitions printed)
  put / get             put of a fresh key on node A, then get from node B != A
  lookup                get of a random key that was never stored
  ops/s                 C concurrent clients doing put-then-get for D seconds
  CPU per operation     CPU time of the node processes / operations
  memory per node       resident memory

and prints one table with both systems and the ratio yz / OpenDHT per figure,
writes bench/results/compare.{csv,md,json,png}. See bench/compare/README.md.
"""
import argparse
import datetime
import http.client
import json
import math
import os
import platform
import random
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE_KB = os.sysconf("SC_PAGE_SIZE") // 1024


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def pct(xs, p):
    """Percentile with linear interpolation between closest ranks."""
    if not xs:
        return float("nan")
    s = sorted(xs)
    if len(s) == 1:
        return s[0]
    k = (len(s) - 1) * p / 100.0
    lo = math.floor(k)
    hi = math.ceil(k)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)


def proc_cpu_s(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLK_TCK
    except OSError:
        return 0.0


def proc_mem_kb(pid):
    """(VmRSS, USS = private clean+dirty, PSS) in KiB."""
    rss = uss = pss = 0
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    rss = int(line.split()[1])
        with open("/proc/%d/smaps_rollup" % pid) as f:
            for line in f:
                if line.startswith(("Private_Clean:", "Private_Dirty:")):
                    uss += int(line.split()[1])
                elif line.startswith("Pss:"):
                    pss = int(line.split()[1])
    except OSError:
        pass
    return rss, uss, pss


def proc_anon_kb(pid):
    """RssAnon in KiB (anonymous resident memory: what nodes allocate)."""
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("RssAnon:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def udp_port_free(port):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.bind(("127.0.0.1", port))
        return True
    except OSError:
        return False
    finally:
        s.close()


def tcp_port_free(port):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind(("127.0.0.1", port))
        return True
    except OSError:
        return False
    finally:
        s.close()


def random_value(rnd, size):
    return ("%x" % rnd.getrandbits(size * 4)).rjust(size, "0")


# --------------------------------------------------------------------------- OpenDHT

class OpenDhtNet:
    name = "OpenDHT"

    def __init__(self, n, args, workdir):
        self.n = n
        self.args = args
        self.workdir = workdir
        self.port_base = args.odht_port
        self.probes = min(args.odht_probes, max(0, n - 2))
        self.inproc = n - self.probes
        per = args.odht_per_process
        self.nhosts = max(1, math.ceil(self.inproc / per))
        base = self.inproc // self.nhosts
        extra = self.inproc % self.nhosts
        self.shares = []  # (first, count) per host
        first = 0
        for h in range(self.nhosts):
            c = base + (1 if h < extra else 0)
            self.shares.append((first, c))
            first += c
        self.hosts = []
        self.probe_procs = []
        self.ready_s = None
        self.connected_s = None
        self.ready_trace = []  # (s since launch, running nodes, min good contacts, median good contacts)
        self.netid = args.odht_netid

    # one JSON line out, one in
    def call(self, h, msg, timeout=600):
        p = self.hosts[h]
        p.stdin.write(json.dumps(msg) + "\n")
        p.stdin.flush()
        poller = select.poll()  # not select(): the driver may hold more than 1024 descriptors
        poller.register(p.stdout, select.POLLIN)
        if not poller.poll(timeout * 1000):
            raise RuntimeError("OpenDHT host %d did not answer %s within %d s" % (h, msg.get("cmd"), timeout))
        line = p.stdout.readline()
        if not line:
            raise RuntimeError("OpenDHT host %d exited (see %s)" % (h, self.host_log(h)))
        reply = json.loads(line)
        if "error" in reply:
            raise RuntimeError("OpenDHT host %d: %s" % (h, reply["error"]))
        return reply

    def host_log(self, h):
        return os.path.join(self.workdir, "odht-host%d.log" % h)

    def host_of(self, idx):
        for h, (first, count) in enumerate(self.shares):
            if first <= idx < first + count:
                return h
        raise IndexError(idx)

    def start(self):
        need = [self.port_base + i for i in range(self.n)]
        busy = [p for p in need if not udp_port_free(p)]
        if busy:
            raise RuntimeError("UDP ports in use on 127.0.0.1: %s (choose another --odht-port)" % busy[:5])
        t0 = time.perf_counter()
        for h, (first, count) in enumerate(self.shares):
            errf = open(self.host_log(h), "w")
            p = subprocess.Popen(["/usr/bin/python3", os.path.join(HERE, "odht_host.py")],
                                 stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=errf,
                                 text=True, bufsize=1, start_new_session=True)
            self.hosts.append(p)
            self.call(h, {"cmd": "start", "first": first, "count": count, "port_base": self.port_base,
                          "netid": self.netid, "global_limit": 0, "per_peer_limit": -1})
        for i in range(self.probes):
            port = self.port_base + self.inproc + i
            cmd = ["dhtnode", "-s", "-p", str(port), "-n", str(self.netid),
                   "-b", "127.0.0.1:%d" % self.port_base, "--no-rate-limit"]
            out = open(os.path.join(self.workdir, "dhtnode-%d.log" % port), "w")
            self.probe_procs.append(subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=out,
                                                     start_new_session=True))
        want = min(self.args.odht_ready_good, self.n - 1)
        deadline = t0 + self.args.odht_ready_timeout
        while True:
            running = 0
            lows = []
            for h in range(self.nhosts):
                st = self.call(h, {"cmd": "status"})
                running += st["running"]
                lows.extend(st["good"])
            self.ready_trace.append((round(time.perf_counter() - t0, 2), running, min(lows), sorted(lows)[len(lows) // 2]))
            if running == self.inproc and min(lows) >= want:
                break
            if time.perf_counter() > deadline:
                if running != self.inproc:
                    raise RuntimeError("OpenDHT network of %d nodes: only %d of %d nodes running after %d s" %
                                       (self.n, running, self.inproc, self.args.odht_ready_timeout))
                log("OpenDHT: some node still has fewer than %d good contacts after %d s (min %d); "
                    "ready time not reached, going on" % (want, self.args.odht_ready_timeout, min(lows)))
                self.ready_s = float("nan")
                break
            time.sleep(0.1)
        if self.ready_s is None:
            self.ready_s = time.perf_counter() - t0
        # time until every node had >= 1 good contact: OpenDHT's own "connected" status
        self.connected_s = next((t for t, r, lo, _ in self.ready_trace if r == self.inproc and lo >= 1), float("nan"))
        for p in self.probe_procs:
            if p.poll() is not None:
                raise RuntimeError("dhtnode probe exited with %s" % p.returncode)

    def random_pair(self, rnd):
        a = rnd.randrange(self.n - self.probes)
        b = rnd.randrange(self.n - self.probes - 1)
        return a, (b + 1 if b >= a else b)

    def put(self, node, key, value):
        r = self.call(self.host_of(node), {"cmd": "put", "node": node, "key": key, "value": value})
        return r["ok"], r["ms"], None

    def get(self, node, key, expect):
        r = self.call(self.host_of(node), {"cmd": "get", "node": node, "key": key, "expect": expect})
        return r["found"], (r["match"] if expect is not None else True), r["ms"], None

    def node_cpu_s(self):
        total = sum(self.call(h, {"cmd": "cpu"})["node_cpu_s"] for h in range(self.nhosts))
        return total + sum(proc_cpu_s(p.pid) for p in self.probe_procs)

    def memory(self):
        growth = 0
        rss_growth = 0
        for h in range(self.nhosts):
            m = self.call(h, {"cmd": "mem"})
            growth += m["anon_kb"] - m["anon_before_kb"]
            rss_growth += m["rss_kb"] - m["rss_before_kb"]
        probe = [proc_mem_kb(p.pid) for p in self.probe_procs]
        return {
            "inproc_kb_per_node": growth / self.inproc,
            "inproc_rss_kb_per_node": rss_growth / self.inproc,
            "probe_rss_kb": sum(x[0] for x in probe) / len(probe) if probe else float("nan"),
            "probe_uss_kb": sum(x[1] for x in probe) / len(probe) if probe else float("nan"),
        }

    def throughput(self, threads, duration, seed, prefix):
        # Split the clients over the host processes; each uses its own nodes.
        per = [threads // self.nhosts + (1 if h < threads % self.nhosts else 0) for h in range(self.nhosts)]
        results = [None] * self.nhosts
        errors = []

        def run(h):
            try:
                results[h] = self.call(h, {"cmd": "throughput", "threads": per[h], "duration": duration,
                                           "seed": seed * 10 + h, "value_size": self.args.value_size,
                                           "key_prefix": "%s-h%d" % (prefix, h)}, timeout=duration + 300)
            except Exception as e:  # noqa: BLE001
                errors.append(e)

        cpu_probe0 = sum(proc_cpu_s(p.pid) for p in self.probe_procs)
        ts = [threading.Thread(target=run, args=(h,)) for h in range(self.nhosts) if per[h] > 0]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        if errors:
            raise errors[0]
        cpu_probe = sum(proc_cpu_s(p.pid) for p in self.probe_procs) - cpu_probe0
        rs = [r for r in results if r]
        return {
            "ops": sum(r["ops"] for r in rs),
            "pairs": sum(r["pairs"] for r in rs),
            "failures": sum(r["failures"] for r in rs),
            "elapsed_s": max(r["elapsed_s"] for r in rs),
            "node_cpu_s": sum(r["node_cpu_s"] for r in rs) + cpu_probe,
            "client_cpu_s": sum(r["client_cpu_s"] for r in rs),
            "pair_ms": [x for r in rs for x in r["pair_ms"]],
        }

    def stop(self):
        for h, p in enumerate(self.hosts):
            if p.poll() is None:
                try:
                    self.call(h, {"cmd": "shutdown"}, timeout=60)
                except Exception as e:  # noqa: BLE001
                    log("OpenDHT host %d did not shut down cleanly (%s); killing pid %d" % (h, e, p.pid))
                try:
                    p.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
        for p in self.probe_procs:
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
        self.hosts = []
        self.probe_procs = []


# --------------------------------------------------------------------------- yz

class HttpPool:
    """One keep-alive HTTP/1.1 connection per node port, for one client thread."""

    def __init__(self, timeout):
        self.conns = {}
        self.timeout = timeout

    def conn(self, port):
        c = self.conns.get(port)
        if c is None:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=self.timeout)
            c.connect()
            c.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self.conns[port] = c
        return c

    def request(self, port, method, path, body=None):
        """Returns (client ms, HTTP status, body bytes). A keep-alive connection the
        node closed while idle is reopened and the request sent again; only the
        attempt that got an answer is timed."""
        for attempt in range(2):
            c = self.conn(port)
            try:
                t0 = time.perf_counter()
                c.request(method, path, body=body, headers={"Content-Type": "application/octet-stream"} if body else {})
                r = c.getresponse()
                data = r.read()
                ms = (time.perf_counter() - t0) * 1e3
                if r.getheader("Connection", "").lower() == "close":
                    c.close()
                    self.conns.pop(port, None)
                return ms, r.status, data
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError,
                    http.client.CannotSendRequest, http.client.BadStatusLine):
                c.close()
                self.conns.pop(port, None)
                if attempt == 1:
                    raise
        raise RuntimeError("unreachable")

    def close(self):
        for c in self.conns.values():
            c.close()
        self.conns = {}


class YzNet:
    name = "yz"

    def __init__(self, n, args, workdir):
        self.n = n
        self.args = args
        self.dir = os.path.join(workdir, "yz-cluster")
        self.bin = args.yz_bin
        self.port_base = args.yz_port
        self.nodes = []        # DHT nodes: (name, port, pid)
        self.all_pids = []     # every process of the cluster (bootstrap included)
        self.ready_s = None
        self.pool = HttpPool(args.http_timeout)
        self.up_output = ""
        self.shared = []       # layout "shared": the yz-node --instances processes
        self.all_but_genesis_s = float("nan")
        self.ready_trace = []

    def cli(self, *a, timeout=None):
        return subprocess.run([os.path.join(self.bin, "yz"), *a], capture_output=True, text=True, timeout=timeout)

    def start(self):
        # N DHT nodes = 1 genesis + (N-1) dht nodes; no bridges (bridges are DHT
        # nodes too, but exist to onboard browsers); plus the bootstrap server.
        # Layout "shared": the cluster is the bootstrap server, the genesis and
        # one dht node; the other N-2 run in `yz-node --instances` processes.
        self.shared = []
        if self.args.yz_layout == "shared":
            return self.start_shared()
        cmd = [os.path.join(self.bin, "yz"), "cluster", "up", "--nodes", str(self.n - 1), "--bridges", "0",
               "--base-port", str(self.port_base), "--dir", self.dir,
               "--health-timeout", str(self.args.ready_timeout), "--log-level", self.args.yz_log_level]
        for a in self.args.yz_node_arg:
            cmd.append("--node-arg=" + a)
        t0 = time.perf_counter()
        stop = threading.Event()
        poller = threading.Thread(target=self.poll_health, args=(t0, stop), daemon=True)
        poller.start()
        try:
            r = subprocess.run(cmd, capture_output=True, text=True, timeout=self.args.ready_timeout + 120)
        finally:
            self.ready_s = time.perf_counter() - t0
            stop.set()
            poller.join()
        self.up_output = r.stdout + r.stderr
        if r.returncode == 0 and math.isnan(self.all_but_genesis_s):
            self.all_but_genesis_s = self.ready_s  # healthy before the first poll
        if r.returncode != 0:
            raise RuntimeError("yz cluster up failed (exit %d):\n%s" % (r.returncode, self.up_output[-4000:]))
        self.read_cluster_state()
        if len(self.nodes) != self.n:
            raise RuntimeError("yz cluster has %d DHT nodes, wanted %d" % (len(self.nodes), self.n))

    def read_cluster_state(self):
        """Processes and DHT nodes that `yz cluster up` started (cluster.json)."""
        with open(os.path.join(self.dir, "cluster.json")) as f:
            state = json.load(f)
        for node in state["nodes"]:
            self.all_pids.append(node["pid"])
            if node["role"] != "bootstrap":
                self.nodes.append((node["name"], node["port"], node["pid"]))

    def start_shared(self):
        t0 = time.perf_counter()
        # `yz cluster up` runs at least one dht node: genesis + node1 as processes.
        cmd = [os.path.join(self.bin, "yz"), "cluster", "up", "--nodes", "1", "--bridges", "0",
               "--base-port", str(self.port_base), "--dir", self.dir,
               "--health-timeout", str(self.args.ready_timeout), "--log-level", self.args.yz_log_level]
        for a in self.args.yz_node_arg:
            cmd.append("--node-arg=" + a)
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=self.args.ready_timeout + 120)
        self.up_output = r.stdout + r.stderr
        if r.returncode != 0:
            raise RuntimeError("yz cluster up failed (exit %d):\n%s" % (r.returncode, self.up_output[-4000:]))
        self.read_cluster_state()
        # At most --yz-per-process nodes per process, as OpenDHT's runners are
        # split: every link is an open file, and one process's limit is shared.
        first = self.port_base + 3
        count = self.n - 2
        per = self.args.yz_per_process
        outs = []
        for start in range(0, count, per):
            k = min(per, count - start)
            cmd = [os.path.join(self.bin, "yz-node"), "--instances", str(k),
                   "--threads", str(min(k, self.args.yz_threads)), "--listen", "127.0.0.1:%d" % (first + start),
                   "--bootstrap", "ws://127.0.0.1:%d/" % self.port_base,
                   "--peer", "ws://127.0.0.1:%d/" % (self.port_base + 1), "--log-level", self.args.yz_log_level,
                   *self.args.yz_node_arg]
            outs.append(open(os.path.join(self.dir, "shared-nodes-%d.log" % len(outs)), "w"))
            proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=outs[-1], stderr=outs[-1],
                                    start_new_session=True)
            self.shared.append(proc)
            self.all_pids.append(proc.pid)
            for i in range(k):
                self.nodes.append(("shared#%d" % (start + i), first + start + i, proc.pid))
        pool = HttpPool(2.0)
        deadline = t0 + self.args.ready_timeout
        try:
            while True:
                healthy = 0
                for _, port, _ in self.nodes:
                    try:
                        _, status, raw = pool.request(port, "GET", "/health")
                        healthy += 1 if status == 200 and json.loads(raw).get("healthy") else 0
                    except Exception:  # not listening yet
                        pool.conns.pop(port, None)
                now = time.perf_counter() - t0
                self.ready_trace.append((round(now, 2), healthy))
                if healthy == len(self.nodes):
                    break
                for proc, out in zip(self.shared, outs):
                    if proc.poll() is not None:
                        raise RuntimeError("yz-node --instances exited with %d (see %s)" % (proc.returncode, out.name))
                if time.perf_counter() > deadline:
                    raise RuntimeError("yz: %d of %d nodes healthy after %d s" %
                                       (healthy, len(self.nodes), self.args.ready_timeout))
                time.sleep(0.2)
        finally:
            pool.close()
        self.ready_s = time.perf_counter() - t0
        self.all_but_genesis_s = self.ready_s

    def poll_health(self, t0, stop):
        """Context for the ready time: when did every DHT node but the genesis
        report healthy? Polls /health of every node every 0.25 s while
        `yz cluster up` waits (which polls on its own)."""
        self.all_but_genesis_s = float("nan")
        self.ready_trace = []
        pool = HttpPool(2.0)
        state = os.path.join(self.dir, "cluster.json")
        try:
            while not stop.wait(0.25):
                if not os.path.exists(state):
                    continue
                try:
                    with open(state) as f:
                        nodes = [(x["role"], x["port"]) for x in json.load(f)["nodes"] if x["role"] != "bootstrap"]
                except (OSError, ValueError, KeyError):
                    continue
                healthy = {"genesis": 0, "other": 0}
                for role, port in nodes:
                    try:
                        _, status, _ = pool.request(port, "GET", "/health")
                    except OSError:
                        pool.conns.pop(port, None)
                        continue
                    if status == 200:
                        healthy["genesis" if role == "genesis" else "other"] += 1
                now = time.perf_counter() - t0
                self.ready_trace.append((round(now, 2), healthy["genesis"], healthy["other"]))
                if healthy["other"] == len(nodes) - 1 and math.isnan(self.all_but_genesis_s):
                    self.all_but_genesis_s = now
        finally:
            pool.close()

    def random_pair(self, rnd):
        a = rnd.randrange(self.n)
        b = rnd.randrange(self.n - 1)
        return a, (b + 1 if b >= a else b)

    def warm(self):
        for _, port, _ in self.nodes:
            self.pool.request(port, "GET", "/health")

    @staticmethod
    def path(key):
        return "/values/" + urllib.parse.quote(key, safe="")

    def put(self, node, key, value, pool=None):
        ms, status, data = (pool or self.pool).request(self.nodes[node][1], "PUT", self.path(key), value.encode())
        body = json.loads(data) if data else {}
        return status == 200 and bool(body.get("ok")), ms, body.get("elapsed_ms")

    def get(self, node, key, expect, pool=None):
        ms, status, data = (pool or self.pool).request(self.nodes[node][1], "GET", self.path(key))
        body = json.loads(data) if data else {}
        found = status == 200 and bool(body.get("found"))
        match = (found and body.get("value") == expect) if expect is not None else True
        return found, match, ms, body.get("elapsed_ms")

    def find_node(self, node, target_hex):
        ms, status, data = self.pool.request(self.nodes[node][1], "GET", "/find-node?target=" + target_hex)
        body = json.loads(data) if data else {}
        return status == 200 and bool(body.get("ok")), ms, body.get("elapsed_ms")

    def health_rtt(self, node):
        ms, status, _ = self.pool.request(self.nodes[node][1], "GET", "/health")
        return ms

    def node_cpu_s(self):
        return sum(proc_cpu_s(p) for p in self.all_pids)

    def memory(self):
        if self.shared:
            # The processes of the N-2 nodes: their anonymous memory (what the
            # nodes allocate) per node, like OpenDHT's in-process figure.
            count = self.n - 2
            mem = [proc_mem_kb(p.pid) for p in self.shared]
            anon = sum(proc_anon_kb(p.pid) for p in self.shared)
            pool = HttpPool(2.0)
            links = self.links_per_node(pool, [port for name, port, _ in self.nodes if name.startswith("shared#")])
            pool.close()
            return {"rss_kb": anon / count, "uss_kb": sum(m[1] for m in mem) / count,
                    "pss_kb": sum(m[2] for m in mem) / count, "process_rss_kb": sum(m[0] for m in mem),
                    "processes": len(self.shared), "layout": "shared", "link_ends_per_node": links}
        m = [proc_mem_kb(pid) for _, _, pid in self.nodes]
        return {
            "rss_kb": sum(x[0] for x in m) / len(m),
            "uss_kb": sum(x[1] for x in m) / len(m),
            "pss_kb": sum(x[2] for x in m) / len(m),
        }

    @staticmethod
    def links_per_node(pool, ports):
        """Mean links (kept + query) of the nodes at `ports`: memory per node
        moves with them (each link end is a socket and its records)."""
        ends = []
        for port in ports:
            try:
                _, status, raw = pool.request(port, "GET", "/health")
                h = json.loads(raw) if status == 200 else {}
                ends.append(h.get("links", 0) + h.get("query_links", 0))
            except Exception:  # a node that does not answer is left out
                pass
        return sum(ends) / len(ends) if ends else float("nan")

    def shared_process_memory(self, count):
        """Memory per node when yz nodes share one process, as OpenDHT's do:
        `yz-node --instances 1` and `--instances count` join the network; the
        figure is the growth of anonymous resident memory per extra node,
        (RssAnon(count) - RssAnon(1)) / (count - 1). Both stop afterwards, so
        the timed phases run on the N-node network only."""
        genesis = next(port for name, port, _ in self.nodes if name == "genesis")
        first = self.port_base + 900
        procs = []
        try:
            for n_inst, port in ((1, first), (count, first + 1)):
                cmd = [os.path.join(self.bin, "yz-node"), "--instances", str(n_inst), "--listen",
                       "127.0.0.1:%d" % port, "--peer", "ws://127.0.0.1:%d/" % genesis,
                       "--log-level", self.args.yz_log_level, *self.args.yz_node_arg]
                out = open(os.path.join(os.path.dirname(self.dir), "shared-%d.log" % n_inst), "w")
                procs.append((n_inst, port, subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=out,
                                                              start_new_session=True)))
            pool = HttpPool(2.0)
            deadline = time.perf_counter() + 120
            while True:
                healthy = 0
                for n_inst, port, _ in procs:
                    for i in range(n_inst):
                        try:
                            _, status, raw = pool.request(port + i, "GET", "/health")
                            healthy += 1 if status == 200 and json.loads(raw).get("healthy") else 0
                        except Exception:  # not listening yet
                            pass
                if healthy == 1 + count or time.perf_counter() > deadline:
                    break
                time.sleep(0.25)
            time.sleep(self.args.settle)
            one, many = (proc_anon_kb(p.pid) for _, _, p in procs)
            rss_many = proc_mem_kb(procs[1][2].pid)[0]
            links = self.links_per_node(pool, [first + 1 + i for i in range(count)])
            pool.close()
            return {"kb_per_node": (many - one) / (count - 1), "nodes": count, "healthy": healthy,
                    "anon_one_kb": one, "anon_many_kb": many, "rss_many_kb": rss_many,
                    "link_ends_per_node": links}
        finally:
            for _, _, p in procs:
                p.terminate()
            for _, _, p in procs:
                try:
                    p.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    p.kill()

    def throughput(self, threads, duration, seed, prefix):
        lock = threading.Lock()
        res = {"ops": 0, "pairs": 0, "failures": 0, "pair_ms": [], "client_cpu_s": 0.0, "errors": []}
        start_evt = threading.Event()
        deadline = [0.0]
        ready = threading.Barrier(threads + 1)

        def worker(w):
            rnd = random.Random(seed * 1000 + w)
            pool = HttpPool(self.args.http_timeout)
            cpu_start = time.thread_time()
            ops = pairs = fails = 0
            lat = []
            try:
                for _, port, _ in self.nodes:  # open every connection before the clock starts
                    pool.conn(port)
                ready.wait()
                start_evt.wait()
                cpu_start = time.thread_time()  # connection set-up above is not the load's cost
                i = 0
                while time.perf_counter() < deadline[0]:
                    a, b = self.random_pair(rnd)
                    key = "%s-%d-%d" % (prefix, w, i)
                    i += 1
                    value = random_value(rnd, self.args.value_size)
                    t0 = time.perf_counter()
                    ok, _, _ = self.put(a, key, value, pool)
                    found, match, _, _ = self.get(b, key, value, pool)
                    lat.append((time.perf_counter() - t0) * 1e3)
                    ops += 2
                    pairs += 1
                    if not (ok and found and match):
                        fails += 1
            except Exception as e:  # noqa: BLE001
                res["errors"].append("%s: %s" % (type(e).__name__, e))
                try:
                    ready.abort()
                except Exception:  # noqa: BLE001
                    pass
            finally:
                pool.close()
            cpu = time.thread_time() - cpu_start
            with lock:
                res["ops"] += ops
                res["pairs"] += pairs
                res["failures"] += fails
                res["pair_ms"].extend(lat)
                res["client_cpu_s"] += cpu

        ts = [threading.Thread(target=worker, args=(w,)) for w in range(threads)]
        for t in ts:
            t.start()
        ready.wait()
        cpu0 = self.node_cpu_s()
        t0 = time.perf_counter()
        deadline[0] = t0 + duration
        start_evt.set()
        for t in ts:
            t.join()
        res["elapsed_s"] = time.perf_counter() - t0
        res["node_cpu_s"] = self.node_cpu_s() - cpu0
        if res["errors"]:
            raise RuntimeError("yz load clients failed: %s" % res["errors"][:3])
        return res

    def stop(self):
        self.pool.close()
        for proc in self.shared:
            proc.terminate()
        for proc in self.shared:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
        if os.path.exists(os.path.join(self.dir, "cluster.json")):
            r = self.cli("cluster", "down", "--dir", self.dir, timeout=120)
            if r.returncode != 0:
                log("yz cluster down: %s" % (r.stdout + r.stderr))


# --------------------------------------------------------------------------- measurement

def measure_size(n, args, workdir, rnd):
    res = {"size": n}
    odht = OpenDhtNet(n, args, os.path.join(workdir, "odht-%d" % n))
    yz = YzNet(n, args, os.path.join(workdir, "yz-%d" % n))
    os.makedirs(odht.workdir, exist_ok=True)
    os.makedirs(os.path.dirname(yz.dir), exist_ok=True)
    systems = {"yz": yz, "OpenDHT": odht}
    samples = {s: {"put": [], "get": [], "pair": [], "lookup": [], "put_internal": [], "get_internal": [],
                   "lookup_internal": [], "find_node": [], "find_node_internal": [], "health_rtt": [],
                   "put_fail": 0, "get_miss": 0, "lookup_found": 0, "seq_ops": 0, "seq_cpu_s": 0.0}
               for s in systems}
    try:
        log("[%d nodes] starting OpenDHT: %d in %d process(es) + %d dhtnode process(es)" %
            (n, odht.inproc, odht.nhosts, odht.probes))
        odht.start()
        log("[%d nodes] OpenDHT ready in %.2f s" % (n, odht.ready_s))
        log("[%d nodes] starting yz: yz cluster up --nodes %d --bridges 0" % (n, n - 1))
        yz.start()
        log("[%d nodes] yz ready in %.2f s" % (n, yz.ready_s))
        res["ready_s"] = {"yz": yz.ready_s, "OpenDHT": odht.ready_s}
        res["ready_context_s"] = {"yz_all_but_genesis": yz.all_but_genesis_s, "odht_connected": odht.connected_s}
        res["ready_trace"] = {"yz": yz.ready_trace, "OpenDHT": odht.ready_trace[::5]}
        time.sleep(args.settle)
        res["mem_ready"] = {"yz": yz.memory(), "OpenDHT": odht.memory()}
        if args.yz_shared_nodes > 1:
            res["yz_shared"] = yz.shared_process_memory(args.yz_shared_nodes)
            log("[%d nodes] yz nodes sharing one process: %.0f KiB per node (%d of %d healthy, %.1f links per node)" %
                (n, res["yz_shared"]["kb_per_node"], res["yz_shared"]["healthy"], 1 + args.yz_shared_nodes,
                 res["yz_shared"]["link_ends_per_node"]))
            time.sleep(args.settle)

        yz.warm()
        # Warm-up pairs on both, not recorded.
        for s, net in systems.items():
            for i in range(args.warmup):
                a, b = net.random_pair(rnd)
                key = "warm-%d-%s-%d-%x" % (n, s, i, rnd.getrandbits(32))
                v = random_value(rnd, args.value_size)
                net.put(a, key, v)
                net.get(b, key, v)

        # Sequential rounds, alternating which system goes first.
        for r in range(args.rounds):
            order = ["yz", "OpenDHT"] if r % 2 == 0 else ["OpenDHT", "yz"]
            for s in order:
                net = systems[s]
                sm = samples[s]
                cpu0 = net.node_cpu_s()
                ops = 0
                for i in range(args.pairs):
                    a, b = net.random_pair(rnd)
                    key = "cmp-%d-%s-%d-%d-%x" % (n, s, r, i, rnd.getrandbits(48))
                    v = random_value(rnd, args.value_size)
                    ok, pms, pint = net.put(a, key, v)
                    found, match, gms, gint = net.get(b, key, v)
                    ops += 2
                    sm["put"].append(pms)
                    sm["get"].append(gms)
                    sm["pair"].append(pms + gms)
                    if pint is not None:
                        sm["put_internal"].append(pint)
                    if gint is not None:
                        sm["get_internal"].append(gint)
                    if not ok:
                        sm["put_fail"] += 1
                    if not (found and match):
                        sm["get_miss"] += 1
                for i in range(args.lookups):
                    c = rnd.randrange(len(net.nodes) if s == "yz" else net.inproc)
                    key = "absent-%d-%s-%d-%d-%x" % (n, s, r, i, rnd.getrandbits(48))
                    found, _, lms, lint = net.get(c, key, None)
                    ops += 1
                    sm["lookup"].append(lms)
                    if lint is not None:
                        sm["lookup_internal"].append(lint)
                    if found:
                        sm["lookup_found"] += 1
                sm["seq_cpu_s"] += net.node_cpu_s() - cpu0
                sm["seq_ops"] += ops
            # yz-only context figures (not part of the CPU accounting above)
            for i in range(args.lookups):
                c = rnd.randrange(n)
                ok, fms, fint = yz.find_node(c, "%064x" % rnd.getrandbits(256))
                samples["yz"]["find_node"].append(fms)
                if fint is not None:
                    samples["yz"]["find_node_internal"].append(fint)
                samples["yz"]["health_rtt"].append(yz.health_rtt(c))
            log("[%d nodes] round %d/%d done" % (n, r + 1, args.rounds))

        # Throughput at fixed concurrency, alternating.
        tp = {"yz": [], "OpenDHT": []}
        for r in range(args.tp_rounds):
            order = ["yz", "OpenDHT"] if r % 2 == 0 else ["OpenDHT", "yz"]
            for s in order:
                out = systems[s].throughput(args.concurrency, args.duration, rnd.getrandbits(31),
                                            "tp-%d-%s-%d-%x" % (n, s, r, rnd.getrandbits(32)))
                tp[s].append(out)
                log("[%d nodes] %s: %.0f ops/s at concurrency %d (%d failures)" %
                    (n, s, out["ops"] / out["elapsed_s"], args.concurrency, out["failures"]))
        res["mem_end"] = {"yz": yz.memory(), "OpenDHT": odht.memory()}
        res["samples"] = samples
        res["throughput"] = tp
        res["yz_processes"] = len(yz.all_pids)
        res["odht_layout"] = {"in_process": odht.inproc, "processes": odht.nhosts, "dhtnode_probes": odht.probes}
    finally:
        log("[%d nodes] stopping both networks" % n)
        odht.stop()
        yz.stop()
    return res


# --------------------------------------------------------------------------- report

def figures(res, args):
    """Rows: (figure, unit, better, yz, opendht, note)."""
    rows = []
    S = res["samples"]

    def lat_rows(label, key, note=""):
        for p in (50, 95, 99):
            rows.append(("%s p%d" % (label, p), "ms", "lower", pct(S["yz"][key], p), pct(S["OpenDHT"][key], p), note))

    rows.append(("ready time", "s", "lower", res["ready_s"]["yz"], res["ready_s"]["OpenDHT"],
                 "yz: all healthy; OpenDHT: >= min(%d, N-1) good contacts each" % args.odht_ready_good))
    rows.append(("ready time, looser bar", "s", "lower", res["ready_context_s"]["yz_all_but_genesis"],
                 res["ready_context_s"]["odht_connected"],
                 "yz: all but the genesis healthy (0.25 s polls); OpenDHT: >= 1 good contact each ('connected')"))
    lat_rows("put", "put")
    lat_rows("get from another node", "get")
    lat_rows("put-then-get (sum)", "pair")
    lat_rows("lookup of a random key", "lookup", "get of a key never stored")
    npairs = len(S["yz"]["put"])
    rows.append(("get found the value", "%", "higher",
                 100.0 * (npairs - S["yz"]["get_miss"]) / max(1, npairs),
                 100.0 * (len(S["OpenDHT"]["put"]) - S["OpenDHT"]["get_miss"]) / max(1, len(S["OpenDHT"]["put"])), ""))
    tp = res["throughput"]

    def tp_sum(s, k):
        return sum(x[k] for x in tp[s])
    ops_s = {s: tp_sum(s, "ops") / tp_sum(s, "elapsed_s") for s in tp}
    rows.append(("ops/s at concurrency %d" % args.concurrency, "ops/s", "higher", ops_s["yz"], ops_s["OpenDHT"],
                 "an op is one put or one get"))
    pair_load = {s: [x for r in tp[s] for x in r["pair_ms"]] for s in tp}
    for p in (50, 99):
        rows.append(("put-then-get under load p%d" % p, "ms", "lower", pct(pair_load["yz"], p),
                     pct(pair_load["OpenDHT"], p), "concurrency %d" % args.concurrency))
    rows.append(("failures under load", "%", "lower",
                 100.0 * tp_sum("yz", "failures") / max(1, tp_sum("yz", "pairs")),
                 100.0 * tp_sum("OpenDHT", "failures") / max(1, tp_sum("OpenDHT", "pairs")), "put failed or get missed"))
    seq_cpu = {s: 1e6 * S[s]["seq_cpu_s"] / max(1, S[s]["seq_ops"]) for s in S}
    rows.append(("CPU per op, sequential", "us", "lower", seq_cpu["yz"], seq_cpu["OpenDHT"],
                 "node CPU / (puts+gets+lookups)"))
    load_cpu = {s: 1e6 * tp_sum(s, "node_cpu_s") / max(1, tp_sum(s, "ops")) for s in tp}
    rows.append(("CPU per op at concurrency %d" % args.concurrency, "us", "lower", load_cpu["yz"],
                 load_cpu["OpenDHT"], "node CPU / ops"))
    client_cpu = {s: 1e6 * tp_sum(s, "client_cpu_s") / max(1, tp_sum(s, "ops")) for s in tp}
    rows.append(("client CPU per op (Python), for context", "us", "lower", client_cpu["yz"], client_cpu["OpenDHT"],
                 "HTTP client vs binding call"))
    for when in ("ready", "end"):
        m = res["mem_" + when]
        label = "at ready" if when == "ready" else "after the run"
        if m["yz"].get("layout") == "shared":
            rows.append(("memory per node %s, nodes sharing one process" % label, "KiB", "lower", m["yz"]["rss_kb"],
                         m["OpenDHT"]["inproc_kb_per_node"],
                         "anonymous RSS / nodes of the yz-node --instances process(es) holding N-2 nodes "
                         "(%.1f links per node) vs OpenDHT's in-process nodes"
                         % m["yz"].get("link_ends_per_node", float("nan"))))
            continue
        rows.append(("memory per node %s" % label, "KiB", "lower", m["yz"]["rss_kb"], m["OpenDHT"]["inproc_kb_per_node"],
                     "yz: VmRSS per process; OpenDHT: anonymous RSS growth / nodes of one process"))
        rows.append(("memory per node %s, one process per node" % label, "KiB", "lower", m["yz"]["rss_kb"],
                     m["OpenDHT"]["probe_rss_kb"], "VmRSS: yz-node vs dhtnode"))
        rows.append(("private memory per node process %s" % label, "KiB", "lower", m["yz"]["uss_kb"],
                     m["OpenDHT"]["probe_uss_kb"], "USS (Private_Clean+Private_Dirty): yz-node vs dhtnode"))
    if "yz_shared" in res:
        sh = res["yz_shared"]
        rows.append(("memory per node at ready, nodes sharing one process", "KiB", "lower", sh["kb_per_node"],
                     res["mem_ready"]["OpenDHT"]["inproc_kb_per_node"],
                     "anonymous RSS growth per node: yz-node --instances %d vs 1 (%d of %d healthy, %.1f links "
                     "per node); OpenDHT: its in-process nodes"
                     % (sh["nodes"], sh["healthy"], sh["nodes"] + 1, sh.get("link_ends_per_node", float("nan")))))
    # yz-only context
    nan = float("nan")
    for p in (50, 99):
        rows.append(("yz put, node-internal elapsed_ms p%d" % p, "ms", "lower", pct(S["yz"]["put_internal"], p), nan,
                     "integer ms, yz only"))
        rows.append(("yz get, node-internal elapsed_ms p%d" % p, "ms", "lower", pct(S["yz"]["get_internal"], p), nan,
                     "integer ms, yz only"))
    for p in (50, 99):
        rows.append(("yz find-node random target p%d" % p, "ms", "lower", pct(S["yz"]["find_node"], p), nan,
                     "HTTP end to end, yz only"))
    rows.append(("yz HTTP round trip of GET /health p50", "ms", "lower", pct(S["yz"]["health_rtt"], 50), nan,
                 "client-path overhead included in yz's figures"))
    return rows


def ratio(y, o):
    if y is None or o is None or isinstance(o, str) or math.isnan(o) or math.isnan(y) or o == 0:
        return float("nan")
    return y / o


def fmt(v):
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "-"
    if abs(v) >= 1000:
        return "%.0f" % v
    if abs(v) >= 100:
        return "%.1f" % v
    if abs(v) >= 10:
        return "%.2f" % v
    return "%.3f" % v


def render_table(all_rows):
    head = ("nodes", "figure", "unit", "yz", "OpenDHT", "yz/OpenDHT", "better")
    lines = [head]
    for n, rows in all_rows:
        for fig, unit, better, y, o, note in rows:
            r = ratio(y, o)
            lines.append((str(n), fig, unit, fmt(y), fmt(o), "-" if math.isnan(r) else "%.2f" % r, better))
    widths = [max(len(l[i]) for l in lines) for i in range(len(head))]
    out = []
    for k, l in enumerate(lines):
        cells = [l[i].ljust(widths[i]) if i < 3 or i == 6 else l[i].rjust(widths[i]) for i in range(len(head))]
        out.append("  ".join(cells).rstrip())
        if k == 0:
            out.append("  ".join("-" * w for w in widths))
    return "\n".join(out)


def render_md_table(all_rows):
    out = ["| nodes | figure | unit | yz | OpenDHT | yz/OpenDHT | better | note |",
           "|---:|---|---|---:|---:|---:|---|---|"]
    for n, rows in all_rows:
        for fig, unit, better, y, o, note in rows:
            r = ratio(y, o)
            out.append("| %d | %s | %s | %s | %s | %s | %s | %s |" %
                       (n, fig, unit, fmt(y), fmt(o), "-" if math.isnan(r) else "%.2f" % r, better, note))
    return "\n".join(out)


def sh(cmd):
    try:
        return subprocess.run(cmd, shell=True, capture_output=True, text=True, timeout=20).stdout.strip()
    except Exception:  # noqa: BLE001
        return ""


def machine(args):
    cpu = ""
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    osrel = ""
    if os.path.exists("/etc/os-release"):
        with open("/etc/os-release") as f:
            for line in f:
                if line.startswith("PRETTY_NAME="):
                    osrel = line.split("=", 1)[1].strip().strip('"')
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "nproc": sh("nproc"),
        "cpu": cpu,
        "memory": sh("free -h"),
        "kernel": platform.release(),
        "os": osrel,
        "load_before": sh("cat /proc/loadavg"),
        "opendht": sh("dpkg-query -W -f='${Version}' python3-opendht"),
        "dhtnode": sh("dpkg-query -W -f='${Version}' dhtnode"),
        "yz": sh("'%s' --version" % os.path.join(args.yz_bin, "yz")),
        "yz_commit": sh("git -C '%s' rev-parse --short HEAD" % ROOT) + (" (work tree modified)" if sh(
            "git -C '%s' status --porcelain --untracked-files=no" % ROOT) else ""),
        "python": sys.version.split()[0],
    }


def settings_text(args):
    return """\
Settings (both systems run on this machine at the same time, on 127.0.0.1 only):
  network sizes            {sizes} DHT nodes each
  yz                       {yzlayout}; every other setting is
                           yz's default (k=20, alpha=3, min/max links 3/8, request timeout 2 s){yzargs}
                           TCP ports {yzport}..; binaries from {yzbin}
  OpenDHT {odv}        python3-opendht DhtRunner nodes, at most {per} per process (a process aborts above ~340:
                           select() limit), each bound to 127.0.0.1:port (UDP, IPv4 only), private network id {netid},
                           every node bootstraps to 127.0.0.1:{oport} (node 0), no public bootstrap;
                           per-IP rate limit disabled (max_peer_req_per_sec=-1: all loopback nodes share one address),
                           global rate limit left at its default (max_req_per_sec=0 -> OpenDHT's default);
                           logging off, no proxy, no peer discovery, no persistence: OpenDHT's defaults otherwise
                           (k=8 per bucket, values stored on 8 nodes, default value type);
                           {probes} of the N nodes are separate `dhtnode -s -n {netid} -b 127.0.0.1:{oport} --no-rate-limit`
                           processes, for a one-process-per-node memory figure (dhtnode binds the wildcard address
                           and has no option to bind 127.0.0.1, but only ever talks to 127.0.0.1 peers)
  ready                    yz: `yz cluster up` returns, i.e. every node's /health says healthy (>= 3 kept links
                           and a successful self-lookup), polled by yz every ~0.2 s; from launch.
                           OpenDHT: every in-process node isRunning() and its IPv4 routing table holds
                           >= min({good}, N-1) good nodes, polled every 0.1 s; from launch of the host process(es)
  latency                  {rounds} rounds x ({pairs} put-then-get pairs + {lookups} lookups) per system, alternating
                           which system goes first each round; {warm} warm-up pairs each, not recorded.
                           pair: fresh random key, value of {vsize} random hex bytes, put on node A, then get on a
                           different random node B; the get must return the value.
                           lookup: get of a random key that was never stored (a full value lookup that finds nothing)
  measured as              the latency a client of the node sees, in Python, on both sides:
                           yz: HTTP request on a persistent keep-alive connection (TCP_NODELAY) to the node's API,
                               timed from send to the full answer read (HTTP + JSON cost included);
                           OpenDHT: time around the binding's blocking DhtRunner.put()/get() in the node's process
                               (Python wrapper + condition-variable wake-up included; no socket in between).
                           The asymmetry: yz pays one loopback HTTP round trip per operation (see the
                           'yz HTTP round trip of GET /health' row), OpenDHT pays a cross-thread wake-up
                           through the GIL. yz's node-internal elapsed_ms is also listed (integer ms, so only
                           a bound); the compared figure is the client-observed one for both.
  throughput               {tprounds} rounds x {dur} s per system, alternating; {conc} concurrent clients, each doing
                           put on A then get on B != A with fresh keys; yz: {conc} Python threads with their own
                           keep-alive connections; OpenDHT: {conc} Python threads inside the node process(es)
  CPU per op               utime+stime of the node processes during the phase / operations in it.
                           yz: every process of the cluster (bootstrap included), from /proc/<pid>/stat.
                           OpenDHT: the node process(es) minus the CPU of the Python client threads (main thread
                           and load threads, from their thread CPU clocks), plus the dhtnode processes.
                           The client's own CPU is shown on its own row.
  memory per node          yz: mean VmRSS of the N yz-node processes (each a whole process: libraries counted
                           in every node), and mean private memory (USS). OpenDHT: growth of a node process's
                           anonymous resident memory (RssAnon) since just before its first node started / nodes
                           in it (RssAnon, not VmRSS: VmRSS drops whenever the kernel evicts clean library pages),
                           and the dhtnode processes' VmRSS/USS for the one-process-per-node comparison.
                           yz nodes sharing one process: after the ready figures, `yz-node --instances 1` and
                           `yz-node --instances {shared}` join the network; (RssAnon of the second - RssAnon of the
                           first) / ({shared} - 1), once all are healthy; both stop before the timed phases.""".format(
        shared=args.yz_shared_nodes,
        yzlayout=("`yz cluster up --nodes N-1 --bridges 0 --log-level %s` = 1 genesis + N-1 dht nodes,\n"
                  "                           one yz-node process per node, plus the yz-bootstrap process" % args.yz_log_level
                  if args.yz_layout == "processes" else
                  "layout shared: `yz cluster up --nodes 1 --bridges 0` (yz-bootstrap, genesis, node1: a process each)\n"
                  "                           and the other N-2 dht nodes in `yz-node --instances K --threads %d` processes of at\n"
                  "                           most %d nodes each, as OpenDHT's (own port, identity and HTTP API per node; event\n"
                  "                           loops shared), log level %s"
                  % (args.yz_threads, args.yz_per_process, args.yz_log_level)),
        sizes=",".join(str(s) for s in args.sizes), yzlog=args.yz_log_level,
        yzargs=("; extra node args: " + " ".join(args.yz_node_arg)) if args.yz_node_arg else "",
        yzport=args.yz_port, yzbin=args.yz_bin, odv=sh("dpkg-query -W -f='${Version}' python3-opendht"),
        per=args.odht_per_process, netid=args.odht_netid, oport=args.odht_port, probes=args.odht_probes,
        good=args.odht_ready_good, rounds=args.rounds, pairs=args.pairs, lookups=args.lookups, warm=args.warmup,
        vsize=args.value_size, tprounds=args.tp_rounds, dur=args.duration, conc=args.concurrency)


def targets_text(results):
    out = []
    for res in results:
        if res["size"] != 100:
            continue
        S = res["samples"]
        for key, label in (("put", "put"), ("get", "get from another node")):
            for p in (50, 99):
                r = ratio(pct(S["yz"][key], p), pct(S["OpenDHT"][key], p))
                out.append("- %s p%d at 100 nodes: yz/OpenDHT = %.2f (target <= 0.5): %s" %
                           (label, p, r, "met" if r <= 0.5 else "NOT met"))
        m = res["mem_ready"]
        if "yz_shared" in res:
            r0 = ratio(res["yz_shared"]["kb_per_node"], m["OpenDHT"]["inproc_kb_per_node"])
            out.append("- memory per node at 100 nodes, nodes sharing one process on both sides: yz/OpenDHT = %.2f "
                       "(target <= 1): %s" % (r0, "met" if r0 <= 1 else "NOT met"))
        r1 = ratio(m["yz"]["rss_kb"], m["OpenDHT"]["inproc_kb_per_node"])
        r2 = ratio(m["yz"]["rss_kb"], m["OpenDHT"]["probe_rss_kb"])
        if m["yz"].get("layout") == "shared":
            out.append("- memory per node at 100 nodes, the yz network's nodes sharing one process: yz/OpenDHT = %.2f "
                       "(target <= 1): %s" % (r1, "met" if r1 <= 1 else "NOT met"))
            continue
        out.append("- memory per node at 100 nodes vs OpenDHT nodes sharing one process: yz/OpenDHT = %.1f "
                   "(target <= 1): %s" % (r1, "met" if r1 <= 1 else "NOT met"))
        out.append("- memory per node at 100 nodes, one process per node (yz-node vs dhtnode): yz/OpenDHT = %.2f "
                   "(target <= 1): %s" % (r2, "met" if r2 <= 1 else "NOT met"))
    return "\n".join(out) if out else "(no 100-node run in this result)"


def plot(results, path):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        log("matplotlib is missing: no plot")
        return False
    sizes = [r["size"] for r in results]
    panels = [
        ("put p50 / p99 (ms)", lambda r, s: (pct(r["samples"][s]["put"], 50), pct(r["samples"][s]["put"], 99))),
        ("get from another node p50 / p99 (ms)",
         lambda r, s: (pct(r["samples"][s]["get"], 50), pct(r["samples"][s]["get"], 99))),
        ("lookup of a random key p50 / p99 (ms)",
         lambda r, s: (pct(r["samples"][s]["lookup"], 50), pct(r["samples"][s]["lookup"], 99))),
        ("ops/s at fixed concurrency", lambda r, s: (sum(x["ops"] for x in r["throughput"][s]) /
                                                     sum(x["elapsed_s"] for x in r["throughput"][s]), None)),
        ("CPU per op at fixed concurrency (us)", lambda r, s: (1e6 * sum(x["node_cpu_s"] for x in r["throughput"][s]) /
                                                               max(1, sum(x["ops"] for x in r["throughput"][s])), None)),
        ("memory per node at ready (KiB, log scale)", None),
        ("ready time (s)", lambda r, s: (r["ready_s"][s], None)),
    ]
    fig, axes = plt.subplots(2, 4, figsize=(18, 8.5))
    axes = axes.flatten()
    colors = {"yz": "#1f77b4", "OpenDHT": "#ff7f0e"}
    width = 0.38
    for ax, (title, fn) in zip(axes, panels):
        if fn is None:  # memory: four bars per size
            bars = [("yz RSS", "#1f77b4", None, lambda r: r["mem_ready"]["yz"]["rss_kb"]),
                    ("yz private (USS)", "#aec7e8", None, lambda r: r["mem_ready"]["yz"]["uss_kb"]),
                    ("OpenDHT in one process", "#ff7f0e", None, lambda r: r["mem_ready"]["OpenDHT"]["inproc_kb_per_node"]),
                    ("dhtnode RSS", "#ffbb78", "//", lambda r: r["mem_ready"]["OpenDHT"]["probe_rss_kb"])]
            w = 0.2
            for j, (label, color, hatch, get) in enumerate(bars):
                xs = [i + (j - 1.5) * w for i in range(len(sizes))]
                ax.bar(xs, [get(r) for r in results], w, color=color, hatch=hatch, edgecolor="#555555", label=label)
            ax.set_yscale("log")
            lo, hi = ax.get_ylim()
            ax.set_ylim(lo, hi * 20)  # room for the legend above the bars
            ax.legend(fontsize=7, loc="upper left", ncol=2)
            ax.set_title(title, fontsize=9)
            ax.set_xticks(range(len(sizes)))
            ax.set_xticklabels(["%d nodes" % s for s in sizes])
            ax.grid(axis="y", alpha=0.3)
            continue
        for j, s in enumerate(("yz", "OpenDHT")):
            xs = [i + (j - 0.5) * width for i in range(len(sizes))]
            vals = [fn(r, s) for r in results]
            main = [v[0] for v in vals]
            ax.bar(xs, main, width, color=colors[s], label=s)
            for x, v in zip(xs, vals):
                if v[1] is not None and not (isinstance(v[1], float) and math.isnan(v[1])):
                    ax.plot([x], [v[1]], marker="_", markersize=18, color="black")
        ax.set_title(title, fontsize=9)
        ax.set_xticks(range(len(sizes)))
        ax.set_xticklabels(["%d nodes" % s for s in sizes])
        ax.grid(axis="y", alpha=0.3)
    axes[3].legend(loc="upper left", fontsize=8)
    axes[-1].axis("off")
    axes[-1].text(0, 0.9, "yz vs OpenDHT on loopback, one machine\nbars: p50 (or the figure); black tick: p99\n"
                  "latency = as seen by a client of the node\n(yz: HTTP keep-alive; OpenDHT: blocking binding call)\n"
                  "details: compare.md", va="top", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    return True


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="15,100", help="comma-separated network sizes (default 15,100)")
    ap.add_argument("--rounds", type=int, default=10, help="alternating latency rounds (default 10)")
    ap.add_argument("--pairs", type=int, default=50, help="put-then-get pairs per round per system (default 50)")
    ap.add_argument("--lookups", type=int, default=20, help="random-key lookups per round per system (default 20)")
    ap.add_argument("--warmup", type=int, default=10, help="unrecorded warm-up pairs per system (default 10)")
    ap.add_argument("--concurrency", type=int, default=8, help="concurrent clients for ops/s (default 8)")
    ap.add_argument("--duration", type=float, default=5.0, help="seconds per throughput round (default 5)")
    ap.add_argument("--tp-rounds", type=int, default=2, help="throughput rounds per system (default 2)")
    ap.add_argument("--value-size", type=int, default=64, help="bytes per stored value (default 64)")
    ap.add_argument("--settle", type=float, default=2.0, help="seconds to wait after both are ready (default 2)")
    ap.add_argument("--ready-timeout", type=int, default=600, help="seconds to wait for the yz network (default 600)")
    ap.add_argument("--odht-ready-timeout", type=int, default=120,
                    help="seconds to wait for the OpenDHT ready bar; past it the ready time is reported as missing "
                         "and the run goes on (default 120)")
    ap.add_argument("--http-timeout", type=float, default=30.0, help="yz HTTP client timeout, s (default 30)")
    ap.add_argument("--yz-bin", default=os.path.join(ROOT, "build-bench"), help="directory of yz, yz-node, yz-bootstrap")
    ap.add_argument("--yz-port", type=int, default=27100, help="first TCP port of the yz network (default 27100; below the ephemeral range)")
    ap.add_argument("--yz-log-level", default="warn", help="yz node log level (default warn: no per-request logs)")
    ap.add_argument("--yz-node-arg", action="append", default=[], help="extra yz-node argument (repeatable)")
    ap.add_argument("--odht-port", type=int, default=29100, help="first UDP port of the OpenDHT network (default 29100; below the ephemeral range)")
    ap.add_argument("--odht-netid", type=int, default=0x597A, help="private OpenDHT network id (default 22906)")
    ap.add_argument("--yz-layout", choices=("processes", "shared"), default="processes",
                    help="yz DHT nodes as one process each (yz cluster up; default), or all but the genesis in one "
                         "yz-node --instances process, as OpenDHT's nodes share one")
    ap.add_argument("--yz-threads", type=int, default=2,
                    help="event-loop threads of the shared process (--yz-layout shared; default 2 = the cores)")
    ap.add_argument("--yz-per-process", type=int, default=250,
                    help="yz nodes per yz-node --instances process (--yz-layout shared; default 250, as OpenDHT's)")
    ap.add_argument("--yz-shared-nodes", type=int, default=50,
                    help="yz nodes in one process (yz-node --instances) for the shared-process memory figure; "
                         "0 or 1 skips it (default 50)")
    ap.add_argument("--odht-per-process", type=int, default=250, help="OpenDHT nodes per process (default 250)")
    ap.add_argument("--odht-probes", type=int, default=2, help="OpenDHT nodes run as dhtnode processes (default 2)")
    ap.add_argument("--odht-ready-good", type=int, default=3,
                    help="good routing-table contacts every OpenDHT node needs to count as ready (default 3)")
    ap.add_argument("--out", default=os.path.join(ROOT, "bench", "results"), help="results directory")
    ap.add_argument("--name", default="compare", help="base name of the result files (default compare)")
    ap.add_argument("--seed", type=int, default=None, help="random seed (default: time)")
    ap.add_argument("--keep-workdir", action="store_true", help="keep logs of both networks")
    args = ap.parse_args()
    args.sizes = [int(x) for x in args.sizes.split(",") if x.strip()]
    if any(s < 4 for s in args.sizes):
        ap.error("sizes must be at least 4")
    if args.yz_per_process < 1:
        ap.error("--yz-per-process must be at least 1 (got %d)" % args.yz_per_process)
    seed = args.seed if args.seed is not None else int(time.time())
    rnd = random.Random(seed)

    os.makedirs(args.out, exist_ok=True)
    workdir = tempfile.mkdtemp(prefix="yz-bench-compare-")
    mach = machine(args)
    settings = settings_text(args)
    print("yz vs OpenDHT on loopback -- %s" % mach["date"])
    print("machine: %s, %s cores, kernel %s, %s" % (mach["cpu"], mach["nproc"], mach["kernel"], mach["os"]))
    print("yz %s (commit %s); OpenDHT %s (python3-opendht), dhtnode %s; seed %d" %
          (mach["yz"], mach["yz_commit"], mach["opendht"], mach["dhtnode"], seed))
    print(settings)
    print(flush=True)

    def on_term(signum, frame):
        raise KeyboardInterrupt
    signal.signal(signal.SIGTERM, on_term)

    results = []
    failed = []  # (size, error): a size that failed is reported, the others still are
    t_start = time.time()
    try:
        for n in args.sizes:
            try:
                results.append(measure_size(n, args, workdir, rnd))
            except (RuntimeError, OSError, ValueError, subprocess.SubprocessError) as e:
                log("[%d nodes] FAILED: %s" % (n, e))
                failed.append((n, str(e)))
    except KeyboardInterrupt:
        log("interrupted; both networks were stopped")
        return 130
    finally:
        if not args.keep_workdir:
            shutil.rmtree(workdir, ignore_errors=True)
        else:
            log("logs kept in %s" % workdir)

    if not results:
        log("no network size completed")
        return 1
    all_rows = [(r["size"], figures(r, args)) for r in results]
    table = render_table(all_rows)
    print(table)
    print()
    tgt = targets_text(results)
    print("Targets (issue 6):")
    print(tgt)
    for n, err in failed:
        print("FAILED at %d nodes: %s" % (n, err))

    # CSV
    csv_path = os.path.join(args.out, args.name + ".csv")
    with open(csv_path, "w") as f:
        f.write("nodes,figure,unit,better,yz,opendht,ratio_yz_over_opendht,note\n")
        for n, rows in all_rows:
            for fig, unit, better, y, o, note in rows:
                r = ratio(y, o)
                cells = [str(n), fig, unit, better, "" if math.isnan(y) else "%.6g" % y,
                         "" if math.isnan(o) else "%.6g" % o, "" if math.isnan(r) else "%.4g" % r, note]
                f.write(",".join('"%s"' % c.replace('"', '""') if ("," in c or '"' in c) else c for c in cells) + "\n")
    # raw samples
    def rounded(x):  # keep the raw file small: microsecond resolution is plenty
        if isinstance(x, float):
            return round(x, 4)
        if isinstance(x, dict):
            return {k: rounded(v) for k, v in x.items()}
        if isinstance(x, (list, tuple)):
            return [rounded(v) for v in x]
        return x
    with open(os.path.join(args.out, args.name + ".json"), "w") as f:
        json.dump({"machine": mach, "seed": seed, "failed": failed, "args": {k: v for k, v in vars(args).items()},
                   "results": rounded(results)}, f)
    png = os.path.join(args.out, args.name + ".png")
    have_png = plot(results, png)
    # Markdown
    md = os.path.join(args.out, args.name + ".md")
    with open(md, "w") as f:
        f.write("# yz vs OpenDHT on loopback\n\n")
        f.write("Written by `bench/compare/run` (%s, %.0f s). Raw samples: `%s.json`; table: `%s.csv`%s.\n\n" %
                (mach["date"], time.time() - t_start, args.name, args.name,
                 ("; plot: `%s.png`" % args.name) if have_png else ""))
        f.write("## Machine\n\n```\n")
        f.write("CPU        %s\ncores      %s (nproc)\nkernel     %s\nOS         %s\nload avg   %s (before the run)\n"
                "yz         %s, commit %s\nOpenDHT    python3-opendht %s, dhtnode %s\nPython     %s\n\n%s\n```\n\n" %
                (mach["cpu"], mach["nproc"], mach["kernel"], mach["os"], mach["load_before"], mach["yz"],
                 mach["yz_commit"], mach["opendht"], mach["dhtnode"], mach["python"], mach["memory"]))
        f.write("## Settings\n\n```\n%s\n```\n\n" % settings)
        f.write("## Results\n\nratio = yz / OpenDHT; below 1 is better for yz where lower is better.\n\n")
        f.write(render_md_table(all_rows) + "\n\n")
        if failed:
            f.write("## Sizes that failed\n\n")
            for n, err in failed:
                f.write("- %d nodes: %s\n" % (n, err.replace("\n", " ")[:2000]))
            f.write("\n")
        f.write("## Targets (issue 6)\n\n%s\n" % tgt)
        if have_png:
            f.write("\n![yz vs OpenDHT](%s.png)\n" % args.name)
    print("\nwrote %s, %s, %s%s" % (csv_path, md, os.path.join(args.out, args.name + ".json"),
                                    (", " + png) if have_png else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/python3
"""Hosts a share of an OpenDHT network in one process, for bench/compare.

Runs under Debian's /usr/bin/python3 (the only interpreter python3-opendht
imports under). The driver (compare.py) talks to it with one JSON object per
line: a command on stdin, one answer on stdout. Every latency is measured here,
around the binding's blocking call, so the pipe to the driver never counts.

Commands:
  start       {first, count, port_base, bootstrap_port, netid, per_peer_limit, global_limit}
  status      -> running nodes and the number of good IPv4 contacts of each
  mem         -> process VmRSS and RssAnon now and before the first node started
  cpu         -> CPU seconds of the node threads since start (process CPU minus
                 the CPU of the Python client threads: main thread + load threads)
  put         {node, key, value}             -> ok, ms
  get         {node, key, expect}            -> found, match, ms
  throughput  {threads, duration, seed, value_size, key_prefix} -> ops, pairs, failures, latencies
  shutdown    -> stops every node (waits for the shutdown callbacks, then joins)
"""
import json
import os
import random
import socket
import sys
import threading
import time

import opendht as dht

CLK_TCK = os.sysconf("SC_CLK_TCK")


def rss_kb(field="VmRSS:"):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field):
                return int(line.split()[1])
    return 0


def anon_kb():
    # Anonymous resident memory: what nodes allocate. Unlike VmRSS it does not
    # drop when the kernel evicts clean pages of shared libraries.
    return rss_kb("RssAnon:")


def process_cpu_s():
    # utime + stime of every thread of this process, live and exited.
    with open("/proc/self/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


class Host:
    def __init__(self):
        self.nodes = []
        self.first = 0
        self.rss_before = None
        self.anon_before = None
        self.client_cpu_s = 0.0          # CPU of finished load threads
        self.main_cpu_base = time.thread_time()
        self.proc_cpu_base = process_cpu_s()

    # CPU of the node threads: everything but the Python client side.
    def node_cpu_s(self):
        main = time.thread_time() - self.main_cpu_base
        return process_cpu_s() - self.proc_cpu_base - main - self.client_cpu_s

    def start(self, a):
        self.first = a["first"]
        self.rss_before = rss_kb()
        self.anon_before = anon_kb()
        cfg = dht.DhtConfig()
        cfg.setNetwork(a["netid"])
        # 0 keeps OpenDHT's default; -1 disables the limit.
        cfg.setRateLimit(a["global_limit"], a["per_peer_limit"])
        for i in range(a["count"]):
            idx = self.first + i
            n = dht.DhtRunner()
            n.run(port=a["port_base"] + idx, ipv4="127.0.0.1", config=cfg)
            if idx != 0:
                n.bootstrap("127.0.0.1", str(a["port_base"]))
            self.nodes.append(n)
        return {"ok": True, "nodes": len(self.nodes), "rss_before_kb": self.rss_before, "rss_kb": rss_kb()}

    def status(self, a):
        good = []
        running = 0
        for n in self.nodes:
            running += 1 if n.isRunning() else 0
            good.append(n.getRoutingTablesLog(socket.AF_INET).count("[good]"))
        return {"running": running, "good": good}

    def mem(self, a):
        return {"rss_kb": rss_kb(), "rss_before_kb": self.rss_before, "anon_kb": anon_kb(),
                "anon_before_kb": self.anon_before, "nodes": len(self.nodes)}

    def cpu(self, a):
        return {"node_cpu_s": self.node_cpu_s(), "process_cpu_s": process_cpu_s() - self.proc_cpu_base}

    def node(self, idx):
        return self.nodes[idx - self.first]

    def put(self, a):
        n = self.node(a["node"])
        key = dht.InfoHash.get(a["key"])
        val = dht.Value(a["value"].encode())
        t0 = time.perf_counter()
        ok = n.put(key, val)
        ms = (time.perf_counter() - t0) * 1e3
        return {"ok": bool(ok), "ms": ms}

    def get(self, a):
        n = self.node(a["node"])
        key = dht.InfoHash.get(a["key"])
        t0 = time.perf_counter()
        vals = n.get(key)
        ms = (time.perf_counter() - t0) * 1e3
        expect = a.get("expect")
        match = expect is not None and any(v.data == expect.encode() for v in vals)
        return {"found": len(vals) > 0, "match": match, "ms": ms}

    def throughput(self, a):
        threads = a["threads"]
        duration = a["duration"]
        vsize = a["value_size"]
        prefix = a["key_prefix"]
        cpu0 = self.node_cpu_s()
        lock = threading.Lock()
        res = {"ops": 0, "pairs": 0, "failures": 0, "pair_ms": [], "client_cpu_s": 0.0}
        start_evt = threading.Event()
        deadline = [0.0]

        def worker(w):
            rnd = random.Random(a["seed"] * 1000 + w)
            ops = pairs = fails = 0
            lat = []
            count = len(self.nodes)
            start_evt.wait()
            i = 0
            while time.perf_counter() < deadline[0]:
                src = rnd.randrange(count)
                dst = rnd.randrange(count - 1)
                dst = dst + 1 if dst >= src else dst
                key = "%s-%d-%d" % (prefix, w, i)
                i += 1
                value = ("%x" % rnd.getrandbits(vsize * 4)).rjust(vsize, "0").encode()
                t0 = time.perf_counter()
                ok = self.nodes[src].put(dht.InfoHash.get(key), dht.Value(value))
                vals = self.nodes[dst].get(dht.InfoHash.get(key))
                lat.append((time.perf_counter() - t0) * 1e3)
                ops += 2
                pairs += 1
                if not ok or not any(v.data == value for v in vals):
                    fails += 1
            cpu = time.thread_time()
            with lock:
                res["ops"] += ops
                res["pairs"] += pairs
                res["failures"] += fails
                res["pair_ms"].extend(lat)
                res["client_cpu_s"] += cpu
                self.client_cpu_s += cpu

        ts = [threading.Thread(target=worker, args=(w,)) for w in range(threads)]
        for t in ts:
            t.start()
        t0 = time.perf_counter()
        deadline[0] = t0 + duration
        start_evt.set()
        for t in ts:
            t.join()
        res["elapsed_s"] = time.perf_counter() - t0
        res["node_cpu_s"] = self.node_cpu_s() - cpu0
        return res

    def shutdown(self, a):
        done = threading.Semaphore(0)
        for n in self.nodes:
            n.shutdown(lambda: done.release())
        # join() before the shutdown callback has run deadlocks.
        for _ in self.nodes:
            done.acquire()
        for n in self.nodes:
            n.join()
        self.nodes = []
        return {"ok": True}


def main():
    host = Host()
    out = sys.stdout
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        msg = json.loads(line)
        cmd = msg.pop("cmd")
        try:
            reply = getattr(host, cmd)(msg)
        except Exception as e:  # report, keep serving
            reply = {"error": "%s: %s" % (type(e).__name__, e)}
        out.write(json.dumps(reply) + "\n")
        out.flush()
        if cmd == "shutdown":
            break


if __name__ == "__main__":
    main()

// Scenario reports: the summary table and the CSV time series.
#include <cinttypes>
#include <cstdio>
#include <ostream>

#include "sim/scenario.hpp"

namespace yz::sim {

namespace {

void row(std::ostream& out, const std::string& label, const std::string& value) {
  out << "  " << label;
  out << ' ';
  for (std::size_t i = label.size(); i < 47; ++i) out << ' ';
  out << value << "\n";
}

std::string num(std::uint64_t value) { return std::to_string(value); }

std::string hex64(std::uint64_t value) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%016" PRIx64, value);
  return buffer;
}

void lookup_rows(std::ostream& out, const std::string& prefix, const LookupStats& s) {
  row(out, prefix + " issued / completed / abandoned",
      num(s.issued) + " / " + num(s.completed()) + " / " + num(s.abandoned));
  row(out, prefix + " success (engine ok)", format_percent(static_cast<double>(s.ok), static_cast<double>(s.completed())));
  row(out, prefix + " exact (true nearest found)",
      format_percent(static_cast<double>(s.exact), static_cast<double>(s.completed())));
  row(out, prefix + " recall of true k closest", s.ok ? format_fixed(s.recall(), 3) : "-");
  row(out, prefix + " hops p50/p90/p99/max", s.hops.describe(""));
  row(out, prefix + " requests p50/p90/p99/max", s.requests.describe(""));
  row(out, prefix + " latency p50/p90/p99/max", s.latency_ms.describe(" ms"));
}

}  // namespace

void print_report(std::ostream& out, const ScenarioReport& r) {
  out << "yz-sim  scenario=" << r.scenario << "  seed=" << r.seed << "  nodes=" << r.nodes
      << "  simulated=" << format_fixed(static_cast<double>(r.simulated_ms) / 1000.0, 1) << " s\n";
  out << "  ------------------------------------------------------------------------\n";
  if (!r.sparse.empty()) {
    for (const auto& c : r.sparse) {
      row(out, c.name,
          "healthy " + num(c.healthy) + "/" + num(c.nodes) + ", lookups exact " + num(c.lookups_exact) + "/" +
              num(c.lookups) + ", puts " + num(c.puts_ok) + "/" + num(c.puts) + ", reads " + num(c.reads_ok) + "/" +
              num(c.reads));
      for (const auto& reason : c.unhealthy_reasons) row(out, "    unhealthy", reason);
    }
    row(out, "trace hash", hex64(r.trace_hash));
    return;
  }
  row(out, "live nodes / DHT members / healthy",
      num(r.live) + " / " + num(r.live_members) + " / " + num(r.healthy) + " (" +
          format_percent(static_cast<double>(r.healthy), static_cast<double>(r.live)) + ")");
  if (r.all_healthy_at >= 0) {
    row(out, "all nodes healthy at", format_fixed(static_cast<double>(r.all_healthy_at) / 1000.0, 1) + " s");
  } else if (r.scenario == "join") {
    row(out, "all nodes healthy at", "never during the run");
  }
  row(out, "time to healthy p50/p90/p99/max", r.time_to_healthy_ms.describe(" ms"));
  row(out, "routing table min / median (members)", num(r.routing_min) + " / " + format_fixed(r.routing_median, 0));
  for (const auto& reason : r.unhealthy_reasons) row(out, "  unhealthy", reason);
  if (r.lookups.issued) lookup_rows(out, "lookups", r.lookups);
  if (r.lookups_during_partition.issued) lookup_rows(out, "split lookups", r.lookups_during_partition);
  if (r.scenario == "partition") {
    row(out, "recovery after heal",
        r.recovery_after_heal >= 0 ? format_fixed(static_cast<double>(r.recovery_after_heal) / 1000.0, 1) + " s"
                                   : "not within the probe window");
    row(out, "probes failed after recovery",
        num(r.probe_failures_after_recovery) + " / " + num(r.probes_after_recovery));
  }
  const auto& v = r.values;
  if (v.puts_issued) {
    row(out, "puts ok / failed / abandoned",
        num(v.puts_ok) + " / " + num(v.puts_failed) + " / " + num(v.puts_abandoned) + " (replicas acked p50 " +
            format_fixed(v.replicas_acked.percentile(50), 0) + ")");
  }
  if (v.reads_issued) {
    row(out, "read-back ok / completed",
        num(v.reads_ok) + " / " + num(v.reads_completed()) + " (" +
            format_percent(static_cast<double>(v.reads_ok), static_cast<double>(v.reads_completed())) + ")");
    row(out, "read-back wrong / missing / failed / abandoned",
        num(v.reads_wrong) + " / " + num(v.reads_missing) + " / " + num(v.reads_failed) + " / " +
            num(v.reads_abandoned));
    row(out, "read latency p50/p90/p99/max", v.read_latency_ms.describe(" ms"));
  }
  if (r.departures || r.arrivals) row(out, "churn departures / returns", num(r.departures) + " / " + num(r.arrivals));
  if (r.messages_per_node_minute_idle >= 0) {
    row(out, "messages per node per minute, idle", format_fixed(r.messages_per_node_minute_idle, 1));
    std::string types;
    for (std::size_t i = 0; i < r.idle_by_type.size() && i < 6; ++i) {
      types += (i ? ", " : "") + r.idle_by_type[i].first + " " + format_fixed(r.idle_by_type[i].second, 1);
    }
    if (!types.empty()) row(out, "  idle by type (sent)", types);
  }
  if (r.messages_per_node_minute_load >= 0) {
    row(out, "messages per node per minute, workload", format_fixed(r.messages_per_node_minute_load, 1));
  }
  const auto& n = r.net;
  row(out, "links open / peak", num(n.open_links) + " / " + num(n.peak_open_links));
  row(out, "dials / failed", num(n.dials) + " / " + num(n.dials_failed));
  row(out, "frames sent / delivered / dropped",
      num(n.frames_sent) + " / " + num(n.frames_delivered) + " / " + num(n.frames_dropped));
  row(out, "engine warnings", num(n.warn_lines));
  const auto& e = r.engines;
  row(out, "engines: handshakes ok / failed", num(e.handshakes_ok) + " / " + num(e.handshakes_failed));
  row(out, "engines: dials for requests / other",
      num(e.request_dials) + " / " + num(n.dials >= e.request_dials ? n.dials - e.request_dials : 0));
  row(out, "engines: requests timed out / late replies",
      num(e.requests_timed_out) + " / " + num(e.late_replies));
  row(out, "engines: lookups ok / failed (all kinds)", num(e.lookups_ok) + " / " + num(e.lookups_failed));
  if (n.send_on_unknown_link || n.send_before_connected || n.deadline_in_past || n.reused_link_ids) {
    row(out, "transport anomalies",
        "send on unknown link " + num(n.send_on_unknown_link) + ", before connected " +
            num(n.send_before_connected) + ", deadline in past " + num(n.deadline_in_past) +
            ", reused link ids " + num(n.reused_link_ids));
  }
  for (const auto& e : r.error_samples) row(out, "  error", e);
  row(out, "events / peak queue", num(n.events) + " / " + num(n.peak_queued_events));
  row(out, "trace hash", hex64(r.trace_hash));
}

void write_csv(std::ostream& out, const ScenarioReport& r) {
  out << "t_s,live,members,healthy_share,lookups,lookups_exact,hops_p50,latency_p50_ms,reads,reads_ok,"
         "frames,open_links\n";
  for (const auto& s : r.series) {
    out << format_fixed(static_cast<double>(s.t) / 1000.0, 1) << ',' << s.live << ',' << s.members << ','
        << format_fixed(s.healthy_share, 3) << ',' << s.lookups << ',' << s.lookups_exact << ','
        << format_fixed(s.hops_p50, 1) << ',' << format_fixed(s.latency_p50, 0) << ',' << s.reads << ','
        << s.reads_ok << ',' << s.frames << ',' << s.open_links << "\n";
  }
}

}  // namespace yz::sim

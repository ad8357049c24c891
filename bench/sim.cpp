// bench_sim: the simulator scenarios of issue 3 at full size. Each run happens
// in its own child process (so its peak RSS is its own) and prints the
// scenario table, wall time, peak RSS and how it compares with the targets.
// Nothing here asserts: the figures are for reading and for
// bench/results. Usage: bench_sim [--quick] [--only NAME] [--seed N]
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <functional>
#include <iostream>
#include <string>
#include <vector>

#include "sim/scenario.hpp"

namespace {

using yz::sim::ScenarioConfig;
using yz::sim::ScenarioReport;

struct Run {
  std::string name;
  ScenarioConfig config;
  // Target lines: label, met?, measured text.
  std::function<std::vector<std::string>(const ScenarioReport&, double wall_s, double rss_mb)> targets;
};

std::string mark(bool met) { return met ? "[met]    " : "[MISSED] "; }

std::string fixed(double value, int decimals) { return yz::sim::format_fixed(value, decimals); }

std::vector<std::string> common_targets(const ScenarioReport& r, double wall, double rss) {
  std::vector<std::string> out;
  out.push_back(mark(wall < 60) + "wall time < 60 s: " + fixed(wall, 1) + " s");
  out.push_back(mark(rss < 4096) + "peak RSS < 4 GB: " + fixed(rss, 0) + " MB");
  (void)r;
  return out;
}

double share(std::uint64_t part, std::uint64_t whole) {
  return whole ? 100.0 * static_cast<double>(part) / static_cast<double>(whole) : 0;
}

std::vector<Run> runs(bool quick, std::uint64_t seed) {
  std::size_t big = quick ? 2000 : 10'000;
  std::size_t mid = quick ? 500 : 2000;
  std::vector<Run> out;

  Run mix;
  mix.name = "mix";
  mix.config.scenario = "mix";
  mix.config.nodes = big;
  mix.config.seed = seed;
  mix.config.duration = 10 * 60'000;
  mix.config.churn_per_minute = 0.1;
  mix.targets = [](const ScenarioReport& r, double wall, double rss) {
    auto t = common_targets(r, wall, rss);
    double exact = share(r.lookups.exact, r.lookups.completed());
    t.push_back(mark(exact >= 99.9) + "lookup success >= 99.9% under 10%/min churn: " + fixed(exact, 2) + "%");
    t.push_back(mark(r.lookups.hops.percentile(50) <= 4) +
                "median hops <= 4: " + fixed(r.lookups.hops.percentile(50), 0));
    t.push_back(mark(r.values.reads_ok == r.values.reads_completed() && r.values.reads_completed() > 0) +
                "all values readable after churn: " + std::to_string(r.values.reads_ok) + " / " +
                std::to_string(r.values.reads_completed()));
    return t;
  };
  out.push_back(mix);

  Run join;
  join.name = "join";
  join.config.scenario = "join";
  join.config.nodes = big;
  join.config.seed = seed;
  join.config.duration = 2 * 60'000;
  join.targets = [](const ScenarioReport& r, double wall, double rss) {
    auto t = common_targets(r, wall, rss);
    t.push_back(mark(r.healthy == r.live) + "every node healthy: " + std::to_string(r.healthy) + " / " +
                std::to_string(r.live));
    t.push_back(mark(r.messages_per_node_minute_idle < 60) + "idle messages per node per minute < 60: " +
                fixed(r.messages_per_node_minute_idle, 1));
    return t;
  };
  out.push_back(join);

  Run lookup;
  lookup.name = "lookup";
  lookup.config.scenario = "lookup";
  lookup.config.nodes = big;
  lookup.config.seed = seed;
  lookup.config.lookups = 1000;
  lookup.config.lookups_per_second = 20;
  lookup.targets = [](const ScenarioReport& r, double wall, double rss) {
    auto t = common_targets(r, wall, rss);
    double exact = share(r.lookups.exact, r.lookups.completed());
    t.push_back(mark(exact >= 99.9) + "lookups find the true nearest: " + fixed(exact, 2) + "%");
    t.push_back(mark(r.lookups.hops.percentile(50) <= 4) +
                "median hops <= 4: " + fixed(r.lookups.hops.percentile(50), 0));
    return t;
  };
  out.push_back(lookup);

  for (yz::Millis lifetime : {5'000, 15'000, 60'000}) {
    Run churn;
    churn.name = "churn-" + std::to_string(lifetime / 1000) + "s";
    churn.config.scenario = "churn";
    churn.config.nodes = mid;
    churn.config.seed = seed;
    churn.config.mean_lifetime = lifetime;
    churn.config.mean_downtime = 10'000;
    churn.targets = [](const ScenarioReport& r, double wall, double rss) {
      std::vector<std::string> t;
      (void)wall;
      (void)rss;
      t.push_back(mark(r.values.reads_ok == r.values.reads_completed() && r.values.reads_completed() > 0) +
                  "100% of values readable: " + std::to_string(r.values.reads_ok) + " / " +
                  std::to_string(r.values.reads_completed()));
      return t;
    };
    out.push_back(churn);
  }

  Run partition;
  partition.name = "partition";
  partition.config.scenario = "partition";
  partition.config.nodes = mid;
  partition.config.seed = seed;
  partition.config.partition_duration = 120'000;
  partition.config.duration = 180'000;
  partition.config.lookups_per_second = 5;
  partition.targets = [](const ScenarioReport& r, double, double) {
    std::vector<std::string> t;
    t.push_back(mark(r.recovery_after_heal >= 0 && r.recovery_after_heal <= 60'000) +
                "lookups and reads recover within 60 s of the heal: " +
                (r.recovery_after_heal >= 0 ? fixed(static_cast<double>(r.recovery_after_heal) / 1000.0, 1) + " s"
                                            : std::string("no")));
    return t;
  };
  out.push_back(partition);

  Run sparse;
  sparse.name = "sparse";
  sparse.config.scenario = "sparse";
  sparse.config.seed = seed;
  sparse.targets = [](const ScenarioReport& r, double, double) {
    std::vector<std::string> t;
    for (const auto& c : r.sparse) {
      bool met = c.healthy == c.nodes && c.puts_ok == c.puts && c.reads_ok == c.reads && c.lookups_exact == c.lookups;
      t.push_back(mark(met) + c.name + " works");
    }
    return t;
  };
  out.push_back(sparse);
  return out;
}

int run_child(const Run& run) {
  auto started = std::chrono::steady_clock::now();
  ScenarioReport report = yz::sim::run_scenario(run.config);
  double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  double rss = static_cast<double>(usage.ru_maxrss) / 1024.0;
  yz::sim::print_report(std::cout, report);
  std::cout << "  wall time " << fixed(wall, 1) << " s, peak RSS " << fixed(rss, 0) << " MB, "
            << fixed(static_cast<double>(report.simulated_ms) / 1000.0 / wall, 1) << "x real time\n";
  for (const auto& line : run.targets(report, wall, rss)) std::cout << "  target " << line << "\n";
  std::cout << std::endl;
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  bool quick = false;
  std::string only;
  std::uint64_t seed = 7;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--quick") == 0) {
      quick = true;
    } else if (std::strcmp(argv[i], "--only") == 0 && i + 1 < argc) {
      only = argv[++i];
    } else if (std::strcmp(argv[i], "--seed") == 0 && i + 1 < argc) {
      seed = std::stoull(argv[++i]);
    } else {
      std::cerr << "usage: bench_sim [--quick] [--only mix|join|lookup|churn-5s|churn-15s|churn-60s|partition|sparse]"
                   " [--seed N]\n";
      return 2;
    }
  }
  std::cout << "bench_sim: simulator scenarios (issue 3), seed " << seed << (quick ? ", quick sizes" : "")
            << ", one child process per run\n\n"
            << std::flush;
  int failures = 0;
  for (const auto& run : runs(quick, seed)) {
    if (!only.empty() && run.name != only) continue;
    std::cout << "== " << run.name << "\n" << std::flush;
    pid_t pid = fork();
    if (pid < 0) {
      std::perror("bench_sim: fork");
      return 1;
    }
    if (pid == 0) {
      int code = 1;
      try {
        code = run_child(run);
      } catch (const std::exception& e) {
        std::cerr << "bench_sim: " << run.name << ": " << e.what() << "\n";
      }
      std::cout.flush();
      _exit(code);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
      std::cout << "  run " << run.name << " did not finish (status " << status << ")\n\n";
      ++failures;
    }
  }
  return failures ? 1 : 0;
}

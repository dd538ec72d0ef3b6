#!/usr/bin/env bash
# Why is process PID slow? Prints what the kernel knows of it, for a check that gave up
# on it (scripts/container-smoke.sh, when the 0.1-CPU start never answers):
#   - its CPU split into user and system time, its page faults and context switches;
#   - the CPU of each of its threads (the main thread, V8's workers, libuv's pool);
#   - its CPU cgroup's quota and throttling, its memory cgroup's use, limit and failures;
#   - the machine's steal time (CPU the hypervisor gave to others) while it is watched;
#   - its main thread's kernel stack (in reclaim? waiting on I/O?);
#   - with perf installed, where its CPU went for SECONDS (kernel, the node binary: V8's
#     compiler, GC and runtime; JIT code shows as unknown).
# Usage: scripts/why-slow.sh PID [SECONDS]   (run as root to read the kernel stack)
set -uo pipefail
pid=$1 secs=${2:-5}
[[ -r /proc/$pid/stat ]] || {
  echo "why-slow: no process $pid"
  exit 0
}
hz=$(getconf CLK_TCK)

fields() { # /proc/.../stat, after the command name (which may hold spaces)
  local s
  s=$(cat "$1" 2>/dev/null) || return 1
  echo "${s##*) }"
}
steal() { awk '/^cpu / {print $9, $2+$3+$4+$5+$6+$7+$8+$9}' /proc/stat; }

read -r -a f < <(fields "/proc/$pid/stat")
# After the name: state(0) ... minflt(7) majflt(9) utime(11) stime(12) num_threads(17)
echo "process $pid: user $((f[11] * 1000 / hz)) ms, system $((f[12] * 1000 / hz)) ms," \
  "minor faults ${f[7]}, major faults ${f[9]}, threads ${f[17]}, state ${f[0]}"
grep -E '^(VmRSS|voluntary_ctxt_switches|nonvoluntary_ctxt_switches)' "/proc/$pid/status" | tr -s '\t ' ' ' | paste -sd, | sed 's/^/  /'
threads=""
for task in /proc/"$pid"/task/*; do
  read -r -a t < <(fields "$task/stat") || continue
  threads+=" $(cat "$task/comm" 2>/dev/null) $(((t[11] + t[12]) * 1000 / hz))ms"
done
echo "  threads (user + system):$threads"

# Control groups: v1 lists one line per hierarchy (…:cpu,cpuacct:/path), v2 one (0::/path).
while IFS=: read -r _ controllers path; do
  case ",$controllers," in
  *,cpu,*) cpu_dir=/sys/fs/cgroup/$controllers$path ;;
  *,memory,*) mem_dir=/sys/fs/cgroup/memory$path ;;
  ,,) [[ -f /sys/fs/cgroup/cgroup.controllers ]] && cpu_dir=/sys/fs/cgroup$path mem_dir=/sys/fs/cgroup$path ;;
  esac
done <"/proc/$pid/cgroup"
if [[ -n ${cpu_dir:-} && -d $cpu_dir ]]; then
  quota=$(cat "$cpu_dir/cpu.max" 2>/dev/null || echo "$(cat "$cpu_dir/cpu.cfs_quota_us" 2>/dev/null) $(cat "$cpu_dir/cpu.cfs_period_us" 2>/dev/null)")
  echo "  cpu cgroup: quota/period $quota us; $(tr '\n' ' ' <"$cpu_dir/cpu.stat")"
fi
if [[ -n ${mem_dir:-} && -d $mem_dir ]]; then
  if [[ -f $mem_dir/memory.usage_in_bytes ]]; then
    echo "  memory cgroup: use $(($(cat "$mem_dir/memory.usage_in_bytes") >> 20)) MiB," \
      "peak $(($(cat "$mem_dir/memory.max_usage_in_bytes") >> 20)) MiB," \
      "limit $(($(cat "$mem_dir/memory.limit_in_bytes") >> 20)) MiB, failures $(cat "$mem_dir/memory.failcnt");" \
      "$(grep -E '^(total_)?(cache|rss|pgmajfault) ' "$mem_dir/memory.stat" | tr '\n' ' ')"
  elif [[ -f $mem_dir/memory.current ]]; then
    echo "  memory cgroup: use $(($(cat "$mem_dir/memory.current") >> 20)) MiB, limit $(cat "$mem_dir/memory.max");" \
      "$(tr '\n' ' ' <"$mem_dir/memory.events")"
  fi
fi
echo "  main thread kernel stack (wchan $(cat "/proc/$pid/wchan" 2>/dev/null)):"
sed 's/^/    /' "/proc/$pid/stack" 2>/dev/null | head -12

read -r steal0 total0 < <(steal)
read -r -a before < <(fields "/proc/$pid/stat")
if command -v perf >/dev/null; then
  data=$(mktemp)
  perf record -q -F 499 -g -p "$pid" -o "$data" -- sleep "$secs" >/dev/null 2>&1
  report() { # sort keys, how many lines
    perf report -i "$data" --stdio --no-children --sort "$1" -g none 2>/dev/null |
      grep -E '^ +[0-9]' | head -"$2" | sed -E 's/^ */    /; s/[ -]+$//; s/\[JIT\] tid [0-9]+/[JIT]/'
  }
  echo "  where its CPU went in ${secs} s (perf samples, self time), by binary:"
  report dso 6
  echo "  and by function:"
  report dso,symbol 15
  rm -f "$data"
else
  sleep "$secs"
  echo "  (perf is not installed: no samples of where its CPU went)"
fi
read -r steal1 total1 < <(steal)
read -r -a after < <(fields "/proc/$pid/stat")
echo "  in those ${secs} s: user $(((after[11] - before[11]) * 1000 / hz)) ms, system $(((after[12] - before[12]) * 1000 / hz)) ms," \
  "minor faults $((after[7] - before[7])), major faults $((after[9] - before[9]));" \
  "the machine's steal time $(((steal1 - steal0) * 100 / (total1 - total0 > 0 ? total1 - total0 : 1)))% of its CPU"

# ipc: moving messages between two threads or two processes. Top: one-way
# stream bandwidth against message size; bottom: ping-pong round trip; one
# column per placement (same_pu, cross_pu; none when unpinned), log-log, a
# line per mechanism (C solid, CPython dashed in greens, dd | dd black
# dashed). Series, placements and sizes come from the data, so any subset
# draws.
# gnuplot -e "summaryfile='..'; outpng='..'; outsvg='..'; plotdir='..'" plots/ipc.gp
if (!exists("summaryfile")) summaryfile = 'results/ipc.summary.csv'
if (!exists("outpng")) outpng = 'ipc.png'
if (!exists("outsvg")) outsvg = 'ipc.svg'

# Summary columns: 1 experiment 2 executor 3 workload 4 workers 5 tasks (the
# message size in bytes) 6 pin 7 metric 8 unit 9 n 10 median ...
set datafile separator ','
set datafile missing ''

# The distinct values awk prints, in the order first seen.
uniq = "awk '!s[$0]++'"
pins = system(sprintf("awk -F, 'NR > 1 && $9 > 0 && ($7 == \"bytes_per_s\" || $7 == \"us_per_roundtrip\") { print $6 }' '%s' | %s", summaryfile, uniq))
npins = words(pins)
series(pin, metric) = system(sprintf("awk -F, 'NR > 1 && $6 == \"%s\" && $7 == \"%s\" && $9 > 0 { print $2 \"/\" $3 }' '%s' | %s", pin, metric, summaryfile, uniq))

exe(s) = s[1:strstrt(s, "/") - 1]
mech(s) = s[strstrt(s, "/") + 1:]
ispy(s) = exe(s)[1:3] eq "py_"
# C: a colour per mechanism; CPython: greens; the reference: black.
cc(m) = m eq "queue" ? 0x1f77b4 : m eq "spsc" ? 0x17becf : m eq "pipe" ? 0xd62728 : \
        m eq "socketpair" ? 0x9467bd : m eq "shm" ? 0xff7f0e : m eq "mqueue" ? 0x8c564b : \
        m eq "dd" ? 0x000000 : 0x7f7f7f
pyc(m) = m eq "queue" ? 0x2ca02c : m eq "mp_queue" ? 0x006d2c : m eq "mp_pipe" ? 0x74c476 : \
         m eq "manager_list" ? 0xbcbd22 : m eq "shared_memory" ? 0x41ab5d : 0x4d9221
colorof(s) = ispy(s) ? pyc(mech(s)) : cc(mech(s))
dashof(s) = ispy(s) || mech(s) eq "dd" ? 2 : 1
ptof(s) = ispy(s) ? 6 : (mech(s) eq "dd" ? 1 : 7)
titleof(s) = ispy(s) ? sprintf("%s %s", exe(s), mech(s)) : \
             mech(s) eq "dd" ? "dd | dd (reference)" : sprintf("%s (%s)", mech(s), exe(s))
# The rows of series s on pin p and metric m, alone (a NaN for the other
# rows would break the series' line): size and median.
rows(s, p, m) = sprintf("< awk -F, 'NR > 1 && $2 \"/\" $3 == \"%s\" && $6 == \"%s\" && $7 == \"%s\" && $9 > 0 { print $5 \",\" $10 }' '%s'", s, p, m, summaryfile)

set xtics ("16 B" 16, "64 B" 64, "256 B" 256, "1 KiB" 1024, "4 KiB" 4096, "16 KiB" 16384, \
           "64 KiB" 65536, "256 KiB" 262144, "1 MiB" 1048576, "4 MiB" 4194304, "16 MiB" 16777216)
set mxtics default
set grid xtics ytics mytics lc rgb "#dddddd"
set key bottom right font ",8" spacing 0.9 box opaque
set offsets graph 0.03, graph 0.03, 0, 0

do for [term=1:2] {
  if (term == 1) { set terminal pngcairo size 1600,1000 font "DejaVu Sans,11" noenhanced; set output outpng } \
  else { set terminal svg size 1600,1000 font "DejaVu Sans,11" dynamic noenhanced; set output outsvg }
  if (npins == 0) {
    set multiplot title "Moving messages between two units of work (ipc)"
    set label 99 "no bytes_per_s or us_per_roundtrip rows with an ok sample in this run (a subset, or see the CSV's status column)" at screen 0.5, screen 0.5 center
    unset xtics; unset ytics; unset logscale
    set xrange [0:1]; set yrange [0:1]
    plot 2 notitle lc rgb "white"
    unset label 99
    unset multiplot
  } else {
  set multiplot layout 2, npins title "Moving messages between two units of work (ipc): every byte checked on arrival; medians of the repetitions.\nC solid (threads: queue, spsc; processes: pipe, socketpair, shm, mqueue), CPython dashed green, dd | dd black dashed; same_pu: both on one PU, cross_pu: on two"
  do for [row=1:2] {
    metric = row == 1 ? "bytes_per_s" : "us_per_roundtrip"
    do for [k=1:npins] {
      pin = word(pins, k)
      S = series(pin, metric)
      # The keys where the lines are not: bandwidth rises to the right and
      # stays high, round trips start low and rise, with room made on top.
      if (row == 1) {
        set title sprintf("one-way stream, %s", pin)
        set ylabel "bandwidth, GB/s (log scale)"
        set key bottom right
        set offsets graph 0.03, graph 0.03, 0, 0
      } else {
        set title sprintf("ping-pong (a message there and its echo back), %s", pin)
        set ylabel "microseconds per round trip (log scale)"
        set key top left
        set offsets graph 0.03, graph 0.03, graph 0.3, 0
      }
      set xlabel "message size (log scale)"
      if (words(S) == 0) {
        set label 99 sprintf("no %s rows with an ok sample at %s", metric, pin) at graph 0.5, graph 0.5 center
        unset logscale
        set xrange [0:1]; set yrange [0:1]
        set format x ""; set format y ""
        plot 2 notitle lc rgb "white"
        unset label 99
        set format x "% h"; set format y "% h"
        set xrange [*:*]; set yrange [*:*]
      } else {
        set logscale x 2
        set logscale y 10
        if (row == 1) { set format y "%g" } else { set format y "%.0s%c" }
        scale = row == 1 ? 1e9 : 1
        plot for [s in S] rows(s, pin, metric) using 1:($2 / scale) smooth unique \
             with linespoints lw 2 pt ptof(s) ps 0.8 dt dashof(s) lc rgb colorof(s) title titleof(s)
        unset logscale
      }
    }
  }
  unset multiplot
  }
}

# cpu_vs_io: the tutorials' CPU-bound vs IO-bound comparison (E1, E2).
# Called by the harness as
#   gnuplot -e "rawfile='..'; summaryfile='..'; outpng='..'; outsvg='..'" plots/cpu_vs_io.gp
# Reads the summary CSV, whose columns are
#   1 experiment 2 executor 3 workload 4 workers 5 tasks 6 pin 7 metric 8 unit 9 n
#   10 median 11 mean 12 stddev 13 min 14 max 15 ci95_lo 16 ci95_hi 17 cv
if (!exists("summaryfile")) summaryfile = 'results/cpu_vs_io.summary.csv'
if (!exists("outpng")) outpng = 'cpu_vs_io.png'
if (!exists("outsvg")) outsvg = 'cpu_vs_io.svg'

set datafile separator ','
set datafile missing ''

# The executors in the order the bars are drawn: the order of the summary
# (C, C with the emulated interpreter lock, then CPython, as the harness
# runs them). The names come from the file, never from a list here.
execs = system(sprintf("awk -F, 'NR > 1 && !seen[$2]++ { printf \"%%s \", $2 }' '%s'", summaryfile))
nexec = words(execs)
pos(e) = sum [k=1:nexec] (word(execs, k) eq e ? k : 0)
family(e) = (e[1:3] eq "py_") ? 3 : (strstrt(e, "+gil") > 0 ? 2 : 1)
famcolor(f) = (f == 1) ? 0x1f77b4 : ((f == 2) ? 0xff7f0e : 0x2ca02c)

# One pass over the file (a `table` plot, which unlike `stats` does not stop
# the script when a row is absent) collects which executors are present and
# the medians the ratio labels need.
array P[nexec]
array M[nexec * 2]
do for [k=1:nexec] { P[k] = 0; M[k] = NaN; M[k + nexec] = NaN }
set table $dummy
plot summaryfile using (pos(strcol(2)) > 0 && column(9) > 0 ? \
     (P[pos(strcol(2))] = 1, \
      strcol(7) eq "wall_s" && strcol(3) eq "cpu" ? M[pos(strcol(2))] = column(10) : 0, \
      strcol(7) eq "wall_s" && strcol(3) eq "io" ? M[pos(strcol(2)) + nexec] = column(10) : 0, 0) : 0):(0) with table
unset table
X = 0
array XP[nexec]
do for [k=1:nexec] { X = X + P[k]; XP[k] = P[k] ? X : NaN }
set xtics () rotate by 35 right font ",9" nomirror
do for [k=1:nexec] { if (P[k]) { set xtics add (word(execs, k) XP[k]) } }
xat(e) = pos(e) > 0 ? XP[pos(e)] : NaN
m(e, w) = pos(e) > 0 ? M[pos(e) + (w eq "io" ? nexec : 0)] : NaN
r(wl, a, b) = m(b, wl) / m(a, wl)
fmt(x) = (x == x) ? sprintf("%.2fx", x) : "n/a"
# Rows of a workload and metric with an ok sample: a run of a subset
# (--workloads cpu) leaves a panel blank instead of failing.
hasrows(wl, met) = int(system(sprintf("awk -F, 'NR > 1 && $3 == \"%s\" && $7 == \"%s\" && $9 > 0' '%s' | wc -l", wl, met, summaryfile)))
sel(wl, met) = (strcol(3) eq wl && strcol(7) eq met && column(9) > 0)
# Column c of the selected rows only: every column of a plot must be NaN on
# the other rows, or they still count in the y autoscaling.
v(c, wl, met) = sel(wl, met) ? column(c) : NaN

set style fill solid 0.85 border -1
set boxwidth 0.7
set grid ytics lc rgb "#dddddd"
set key off
set xrange [0.4:(X > 0 ? X : 1) + 0.6]

cpu_note = sprintf("the tutorials, in CPython: 4 threads took %.2fx as long as 4 processes (30.26 s vs 17.11 s)\nhere: CPython py_thread/py_process %s;  C with the lock thread+gil/process+gil %s;  C thread/process %s", \
        30.26/17.11, fmt(r("cpu", "py_process", "py_thread")), fmt(r("cpu", "process+gil", "thread+gil")), fmt(r("cpu", "process", "thread")))
io_note = sprintf("every task here sleeps the same time, so process/thread is start-up cost alone:\nCPython py_process/py_thread %s;  C process/thread %s\nthe tutorials' 3.24 s vs 2.00 s came mostly from their runs' different randint(1, 3) draws (bench:sleeps)", \
        fmt(r("io", "py_thread", "py_process")), fmt(r("io", "thread", "process")))

do for [term=1:2] {
# noenhanced: executor names have underscores, which enhanced text would
# turn into subscripts.
if (term == 1) { set terminal pngcairo size 1600,1100 font "DejaVu Sans,11" noenhanced; set output outpng } \
else { set terminal svg size 1600,1100 font "DejaVu Sans,11" dynamic noenhanced; set output outsvg }

set multiplot layout 2,2 title "Threads, processes, pools and coroutines: CPU-bound vs IO-bound work on this machine\nblue: C    orange: C with an emulated interpreter lock (+gil)    green: CPython (py_*)    bars: median of the repetitions, whiskers: min to max" font ",12"

do for [wl in "cpu io"] {
  set title (wl eq "cpu" ? "CPU-bound: the tutorials' counting loop (lower is better)" : "IO-bound: every task sleeps (lower is better)")
  set ylabel "wall time of all tasks (s)"
  set yrange [0:*]
  set offsets 0, 0, graph 0.22, 0
  set label 1 (wl eq "cpu" ? cpu_note : io_note) at graph 0.01, graph 0.97 font ",9" front
  if (hasrows(wl, "wall_s") == 0) { set multiplot next } else {
  plot summaryfile using (sel(wl, "wall_s") ? xat(strcol(2)) : NaN):(v(10, wl, "wall_s")):(famcolor(family(strcol(2)))) with boxes lc rgb variable, \
       summaryfile using (sel(wl, "wall_s") ? xat(strcol(2)) : NaN):(v(10, wl, "wall_s")):(v(13, wl, "wall_s")):(v(14, wl, "wall_s")) with yerrorbars lc rgb "black" ps 0
  }
  unset label 1
}
set offsets 0, 0, 0, 0

do for [wl in "cpu io"] {
  set title sprintf("%s: speedup over serial in the same language (higher is better; dashed: 1 = no gain)", wl eq "cpu" ? "CPU-bound" : "IO-bound")
  set ylabel "speedup (median; whiskers min to max)"
  set yrange [0:*]
  if (hasrows(wl, "speedup") == 0) { set multiplot next } else {
  plot summaryfile using (sel(wl, "speedup") ? xat(strcol(2)) : NaN):(v(10, wl, "speedup")):(famcolor(family(strcol(2)))) with boxes lc rgb variable, \
       summaryfile using (sel(wl, "speedup") ? xat(strcol(2)) : NaN):(v(10, wl, "speedup")):(v(13, wl, "speedup")):(v(14, wl, "speedup")) with yerrorbars lc rgb "black" ps 0, \
       1 with lines dt 2 lc rgb "#888888"
  }
}
unset multiplot
}

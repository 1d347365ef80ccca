# cpu_vs_io: the tutorials' CPU-bound vs IO-bound comparison (E1, E2).
# Called by the harness as
#   gnuplot -e "rawfile='..'; summaryfile='..'; outpng='..'; outsvg='..'" plots/cpu_vs_io.gp
# Reads the summary CSV by column name:
#   experiment,executor,workload,workers,tasks,pin,metric,unit,n,median,mean,stddev,min,max,...
if (!exists("summaryfile")) summaryfile = 'results/cpu_vs_io.summary.csv'
if (!exists("outpng")) outpng = 'cpu_vs_io.png'
if (!exists("outsvg")) outsvg = 'cpu_vs_io.svg'

set datafile separator ','
set datafile missing ''

# The executors in the order the bars are drawn: C, C with the emulated
# interpreter lock, then CPython.
execs = "serial thread process thread_pool process_pool coroutine thread+gil thread_pool+gil process+gil process_pool+gil py_serial py_thread py_process py_thread_pool py_process_pool py_asyncio"
nexec = words(execs)
pos(e) = sum [k=1:nexec] (word(execs, k) eq e ? k : 0)
family(e) = (e[1:3] eq "py_") ? 3 : (strstrt(e, "+gil") > 0 ? 2 : 1)
famcolor(f) = (f == 1) ? 0x1f77b4 : ((f == 2) ? 0xff7f0e : 0x2ca02c)

# Medians the ratio labels need, read with a table pass (a plain `stats`
# stops the script when a row is absent).
array M[nexec * 2]
do for [k=1:nexec*2] { M[k] = NaN }
set table $dummy
plot summaryfile using (strcol(7) eq "wall_s" && pos(strcol(2)) > 0 && (strcol(3) eq "cpu" || strcol(3) eq "io") ? \
     (M[pos(strcol(2)) + (strcol(3) eq "io" ? nexec : 0)] = column(10), 0) : 0):(0) with table
unset table
m(e, w) = M[pos(e) + (w eq "io" ? nexec : 0)]
r(wl, a, b) = m(b, wl) / m(a, wl)
fmt(x) = (x == x) ? sprintf("%.2fx", x) : "n/a"

sel(wl, met) = (strcol(3) eq wl && strcol(7) eq met && pos(strcol(2)) > 0)

set style fill solid 0.85 border -1
set boxwidth 0.7
set grid ytics lc rgb "#dddddd"
set xtics rotate by 40 right font ",9" nomirror
set key off
set xrange [0.3:nexec + 0.7]

set terminal pngcairo size 1500,1050 font "DejaVu Sans,11"
set output outpng
do for [term=1:2] {
if (term == 2) { set terminal svg size 1500,1050 font "DejaVu Sans,11" dynamic; set output outsvg }

set multiplot layout 2,2 title "Threads, processes, pools and coroutines: CPU-bound vs IO-bound work on this machine\n{/*0.8 blue: C   orange: C with an emulated interpreter lock (+gil)   green: CPython (py\\_*)   bars: median of the repetitions, whiskers: min-max}"

do for [wl in "cpu io"] {
  set title (wl eq "cpu" ? "CPU-bound (counting loop): median wall time" : "IO-bound (sleeping tasks): median wall time")
  set ylabel "wall time per configuration (s)"
  set yrange [0:*]
  if (wl eq "cpu") {
    set label 1 sprintf("tutorials (CPython): threads %.2fx slower than processes (30.26 s vs 17.11 s)\nhere, CPython: py\\_thread / py\\_process = %s;  C+gil: thread+gil / process+gil = %s;  C: thread / process = %s", \
        30.26/17.11, fmt(r("cpu", "py_process", "py_thread")), fmt(r("cpu", "process+gil", "thread+gil")), fmt(r("cpu", "process", "thread"))) \
        at graph 0.02, graph 0.95 font ",9" front
  } else {
    set label 1 sprintf("tutorials (CPython): processes %.2fx slower than threads (3.24 s vs 2.00 s)\nhere, CPython: py\\_process / py\\_thread = %s;  C: process / thread = %s", \
        3.24/2.00, fmt(r("io", "py_thread", "py_process")), fmt(r("io", "thread", "process"))) \
        at graph 0.02, graph 0.95 font ",9" front
  }
  set offsets 0, 0, graph 0.25, 0
  plot for [k=1:nexec] summaryfile using (sel(wl, "wall_s") && strcol(2) eq word(execs, k) ? k : NaN):10:(famcolor(family(strcol(2)))):xtic(word(execs, k)) \
         with boxes lc rgb variable, \
       summaryfile using (sel(wl, "wall_s") ? pos(strcol(2)) : NaN):10:13:14 with yerrorbars lc rgb "black" pt -1
  unset label 1
  set offsets 0, 0, 0, 0
}

do for [wl in "cpu io"] {
  set title sprintf("%s: speedup vs serial (same language), 1 = no gain", wl eq "cpu" ? "CPU-bound" : "IO-bound")
  set ylabel "speedup (median, whiskers min-max)"
  set yrange [0:*]
  plot for [k=1:nexec] summaryfile using (sel(wl, "speedup") && strcol(2) eq word(execs, k) ? k : NaN):10:(famcolor(family(strcol(2)))):xtic(word(execs, k)) \
         with boxes lc rgb variable, \
       summaryfile using (sel(wl, "speedup") ? pos(strcol(2)) : NaN):10:13:14 with yerrorbars lc rgb "black" pt -1, \
       1 with lines dt 2 lc rgb "#888888"
}
unset multiplot
}

# hybrid: E11, processes x threads x coroutines (tutorial 004: (4+1) x (4 x 5) x 500 = 50000).
# Called by the harness as
#   gnuplot -e "rawfile='..'; summaryfile='..'; outpng='..'; outsvg='..'" plots/hybrid.gp
# Three panels, one bar per executor (median, min-max whiskers), each CPython
# row (py_*, oranges and red) beside the C row of its shape: the time to
# start every task and to finish them all; the tasks alive at once (the line:
# the run's task count); the resident memory (each process's peak, summed).
# An executor whose rows were skipped (threads alone past the kernel's
# limits, CPython without an interpreter or gevent) is named under the first
# panel.
if (!exists("summaryfile")) summaryfile = 'results/hybrid.summary.csv'
if (!exists("outpng")) outpng = 'hybrid.png'
if (!exists("outsvg")) outsvg = 'hybrid.svg'

set datafile separator ','
set datafile missing ''

# C rows and, beside each, CPython's of the same shape (py_*, in oranges).
order = "hybrid py_hybrid thread py_thread coroutine py_coroutine py_gevent"
# The awk commands are concatenated, not sprintf'ed: gnuplot 5.4's sprintf
# garbles long results when the file name is long.
q = "'" . summaryfile . "'"
present = system("awk -F, -v o='" . order . "' '$7 == \"wall_s\" && $9 > 0 { p[$2] = 1 } END { n = split(o, a, \" \"); for (i = 1; i <= n; i++) if (a[i] in p) printf \"%s \", a[i] }' " . q)
np = words(present)
ntasks = system("awk -F, 'NR > 1 && $7 == \"wall_s\" { print $5; exit }' " . q)
absent = system("awk -F, -v o='" . order . "' '$7 == \"wall_s\" && $9 > 0 { p[$2] = 1 } NR > 1 && $7 == \"wall_s\" { s[$2] = 1 } END { n = split(o, a, \" \"); for (i = 1; i <= n; i++) if ((a[i] in s) && !(a[i] in p)) printf \"%s \", a[i] }' " . q)
npy = system("awk -F, 'NR > 1 && $2 ~ /^py_/ && $7 == \"wall_s\" && $9 > 0 { n++ } END { print n + 0 }' " . q)
sel(e, m) = "< awk -F, '$2 == \"" . e . "\" && $7 == \"" . m . "\" && $9 > 0 { print $10 \",\" $13 \",\" $14 }' " . q
ecol(e) = e eq "hybrid" ? "#9467bd" : e eq "thread" ? "#1f77b4" : e eq "coroutine" ? "#2ca02c" : \
          e eq "py_hybrid" ? "#ff7f0e" : e eq "py_thread" ? "#d62728" : e eq "py_coroutine" ? "#fdae6b" : "#e6550d"

do for [term=1:2] {
  if (term == 1) { set terminal pngcairo size 1300, 700 font "DejaVu Sans,11"; set output outpng } \
  else { set terminal svg size 1300, 700 font "DejaVu Sans,11" dynamic; set output outsvg }
  set multiplot layout 1, 3 margins 0.06, 0.98, 0.16, 0.82 spacing 0.07 title sprintf("E11 (tutorial 004): processes x threads x coroutines, %s sleeping tasks at once\n{/*0.8 the tutorial's (4+1) x (4 x 5) x 500 = 50000 for 4 cores; its 8-core figure, 18000, is an arithmetic slip: (8+1) x (8 x 5) x 500 = 180000}", ntasks)
  set style fill solid 0.8 border -1
  set boxwidth 0.35
  unset key
  set xtics () noenhanced rotate by -35 font ",9"
  if (np == 0) {
    do for [pi=1:3] { set title "no rows"; plot [0:1] [0:1] 2 lc rgb "white" }
  } else {
    set xrange [0.4:np + 0.6]
    do for [k=1:np] { set xtics add (word(present, k) k) }
    set title "start every task (light) and finish all (dark)"
    set ylabel "seconds"
    set yrange [0:*]
    if (absent ne "") { set label 1 "not run: " . absent . "(skipped: the kernel's limits, or no interpreter or module: see the CSV)" at screen 0.5, screen 0.025 center font ",9" noenhanced }
    if (npy > 0) { set label 2 "oranges and red: CPython (py_*), beside the C row of the same shape" at screen 0.5, screen 0.905 center font ",9" noenhanced }
    plot for [k=1:np] sel(word(present, k), "startup_s") using (k - 0.18):1 with boxes lc rgb "#cccccc", \
         for [k=1:np] sel(word(present, k), "wall_s") using (k + 0.18):1 with boxes lc rgb ecol(word(present, k)), \
         for [k=1:np] sel(word(present, k), "wall_s") using (k + 0.18):1:2:3 with yerrorbars lc rgb "black" pt 0
    unset label 1
    unset label 2
    set title "tasks alive at once"
    set ylabel "tasks"
    set yrange [0:real(ntasks) * 1.15]
    set arrow 1 from graph 0, first real(ntasks) to graph 1, first real(ntasks) nohead dt 2 lc rgb "black"
    plot for [k=1:np] sel(word(present, k), "peak_alive") using (k):1 with boxes lc rgb ecol(word(present, k))
    unset arrow 1
    set yrange [0:*]
    set title "resident memory (each process's peak, summed)"
    set ylabel "MiB"
    plot for [k=1:np] sel(word(present, k), "rss_kib") using (k):($1 / 1024) with boxes lc rgb ecol(word(present, k)), \
         for [k=1:np] sel(word(present, k), "rss_kib") using (k):($1 / 1024):($2 / 1024):($3 / 1024) with yerrorbars lc rgb "black" pt 0
  }
  unset multiplot
}

# scaling (E7): speedup vs workers per executor, one panel per workload.
# gnuplot -e "summaryfile='..'; outpng='..'; outsvg='..'" plots/scaling.gp
if (!exists("summaryfile")) summaryfile = 'results/scaling.summary.csv'
if (!exists("outpng")) outpng = 'scaling.png'
if (!exists("outsvg")) outsvg = 'scaling.svg'
set datafile separator ','
set datafile missing ''

# The run's PUs and cores, from E.meta beside the summary.
metafile = summaryfile[1:strlen(summaryfile) - strlen(".summary.csv")] . ".meta"
metaval(k) = system(sprintf("awk -F= '$1 == \"%s\" { print $2 }' '%s' 2>/dev/null", k, metafile))
num(s) = (s eq "") ? 0 : s + 0   # 0 when the .meta is missing
pus = num(metaval("allowed_pus"))
cores = num(metaval("cores"))

# Speedup rows of one executor, workload and pin, by workers.
sel(e, w, p) = sprintf("< awk -F, 'NR > 1 && $2 == \"%s\" && $3 == \"%s\" && $6 == \"%s\" && $7 == \"speedup\" && $9 > 0' '%s' | sort -t, -k4,4n", e, w, p, summaryfile)
execs = system(sprintf("awk -F, 'NR > 1 && $7 == \"speedup\" && $2 != \"serial\" && $2 != \"py_serial\" { print $2 }' '%s' | sort -u | tr '\\n' ' '", summaryfile))
# CPython's ThreadPoolExecutor() default, as its rows record it (0: no such
# rows): min(32, os.cpu_count() + 4) since Python 3.8.
pydef = num(system(sprintf("awk -F, 'NR > 1 && $2 == \"py_thread_pool\" && $7 == \"default_workers\" && $9 > 0 { print $10 + 0; exit }' '%s'", summaryfile)))
pins = system(sprintf("awk -F, 'NR > 1 && $7 == \"speedup\" { print $6 }' '%s' | sort -u | tr '\\n' ' '", summaryfile))
wls = system(sprintf("awk -F, 'NR > 1 && $7 == \"speedup\" { print $3 }' '%s' | awk '!seen[$0]++' | sort -u | tr '\\n' ' '", summaryfile))
maxw = system(sprintf("awk -F, 'NR > 1 && $7 == \"speedup\" { if ($4 > m) m = $4 } END { print m + 0 }' '%s'", summaryfile)) + 0
# CPython's pools (py_*) in their own colours: olive and teal, drawn thinner.
ecol(e) = e eq "thread" ? 0x1f77b4 : e eq "process" ? 0xd62728 : e eq "thread_pool" ? 0x2ca02c : e eq "process_pool" ? 0x9467bd : e eq "py_thread_pool" ? 0xbcbd22 : e eq "py_process_pool" ? 0x17becf : e[1:3] eq "py_" ? 0x8c564b : 0xff7f0e
ispy(e) = e[1:3] eq "py_"
pdt(p) = p eq "scatter" ? 2 : 1
ppt(p) = p eq "scatter" ? 9 : 7
wtitle(w) = w eq "cpu" ? "cpu: counting (CPU-bound)" : w eq "io" ? "io: sleeping (IO-bound)" : w eq "mixed" ? "mixed: half counting, half sleeping" : w

set xrange [0:maxw + 1]
set xtics 1 nomirror
if (maxw > 16) { set xtics 2 }
if (maxw > 40) { set xtics 8 }
set grid xtics ytics lc rgb "#dddddd"
set xlabel "workers (pool size; for thread and process, the PUs the tasks are pinned to)"
set ylabel "speedup over serial (median)"
# Highest speedup of a workload, to scale its panel (the ideal line would
# otherwise dwarf the CPU-bound panel).
ymax(w) = system(sprintf("awk -F, 'NR > 1 && $3 == \"%s\" && $7 == \"speedup\" && $9 > 0 { if ($14 > m) m = $14 } END { print m + 0 }' '%s'", w, summaryfile)) + 0

nw = words(wls)
# No speedup rows at all (a subset without serial, or --executors serial):
# one panel that says so.
empty = (nw == 0)
if (empty) { nw = 1; wls = "none" }
do for [term=1:2] {
  if (term == 1) { set terminal pngcairo size 650 * nw, 700 font "DejaVu Sans,11"; set output outpng } \
  else { set terminal svg size 650 * nw, 700 font "DejaVu Sans,11" dynamic; set output outsvg }
  set multiplot layout 1, nw margins 0.05, 0.98, 0.22, 0.80 spacing 0.05 title sprintf("Scaling (E7): speedup as workers are added, %d PUs here; solid: pinned compact, dashed: scatter\n{/*0.8 dotted: ideal (speedup = workers); grey: the PUs (no CPU-bound speedup past them), and the thread pool's default size as the tutorials give it (5 x cores = %d: ThreadPoolExecutor's in Python 3.5-3.7; the process pool's is cores = %d)}\n{/*0.8 thread and process start one unit per task, so their IO waits all overlap whatever the worker count; a pool runs at most its size at once}", pus, 5 * cores, cores)
  do for [wi = 1:nw] {
    w = word(wls, wi)
    set title wtitle(w)
    ym = ymax(w)
    set yrange [0:(ym > pus ? ym : pus) * 1.15]
    if (wi == nw) { set key at screen 0.5, 0.01 center bottom horizontal maxcols 6 width 1 samplen 3 font ",10" noenhanced } else { unset key }
    unset arrow
    set arrow 1 from first pus, graph 0 to first pus, graph 1 nohead lc rgb "#888888" dt 3 lw 2
    set arrow 3 from graph 0, first pus to graph 1, first pus nohead lc rgb "#bbbbbb" dt 3 lw 2
    set arrow 2 from first 5 * cores, graph 0 to first 5 * cores, graph 1 nohead lc rgb "#888888" dt 4
    set label 1 sprintf("%d PUs", pus) at first pus, graph 0.97 right offset -0.5, 0 font ",9" tc rgb "#555555"
    set label 2 "tutorials' thread\npool default\n(5 x cores,\nPython 3.5-3.7)" at first 5 * cores, graph 0.5 right offset -0.5, 0 font ",9" tc rgb "#555555"
    if (pydef > 0) { set arrow 4 from first pydef, graph 0 to first pydef, graph 1 nohead lc rgb "#bcbd22" dt 4 lw 2; set label 4 sprintf("ThreadPoolExecutor()\ndefault here: %d\nmin(32, cpus + 4),\nPython 3.8+", pydef) at first pydef, graph 0.75 right offset -0.5, 0 font ",9" tc rgb "#8a8b00" } else { unset label 4 }
    if (empty) {
      set label 3 "no speedup rows in this run: it needs serial and another executor" at graph 0.5, graph 0.5 center
      set yrange [0:1]
      plot 2 notitle lc rgb "white"
      unset label 3
    } else {
      plot x with lines dt 3 lc rgb "black" title "ideal", \
           for [e in execs] for [p in pins] sel(e, w, p) using 4:10 with linespoints lw (ispy(e) ? 1.5 : 2) dt pdt(p) pt (ispy(e) ? ppt(p) - 2 : ppt(p)) ps 1 lc rgb ecol(e) title (p eq word(pins, 1) ? (ispy(e) ? "CPython " . e[4:] : e) : "")
    }
    unset label 1
    unset label 2
    unset label 4
  }
  unset multiplot
}

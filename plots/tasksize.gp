# tasksize: E1's condition, the task size from which processes win (tutorial 003).
# Called by the harness as
#   gnuplot -e "rawfile='..'; summaryfile='..'; outpng='..'; outsvg='..'" plots/tasksize.gp
# Reads the summary CSV, whose columns are
#   1 experiment 2 executor 3 workload 4 workers 5 tasks 6 pin 7 metric 8 unit 9 n
#   10 median 11 mean 12 stddev 13 min 14 max 15 ci95_lo 16 ci95_hi 17 cv
# (tasks is the size: increments per task). Left: wall time against size,
# log-log, C solid, CPython dashed. Right: process over serial and process
# over thread, per language, from the medians at each size; below 1 the
# process wins; the crossovers (the run's medians over its repetitions,
# with their ranges) are marked where the curves cross 1.
if (!exists("summaryfile")) summaryfile = 'results/tasksize.summary.csv'
if (!exists("outpng")) outpng = 'tasksize.png'
if (!exists("outsvg")) outsvg = 'tasksize.svg'

set datafile separator ','
set datafile missing ''

execs = system(sprintf("awk -F, 'NR > 1 && $7 == \"wall_s\" && $9 > 0 && !seen[$2]++ { printf \"%%s \", $2 }' '%s'", summaryfile))
cexecs = system(sprintf("awk -F, 'NR > 1 && $7 == \"wall_s\" && $9 > 0 && $2 !~ /^py_/ && !seen[$2]++ { printf \"%%s \", $2 }' '%s'", summaryfile))
pexecs = system(sprintf("awk -F, 'NR > 1 && $7 == \"wall_s\" && $9 > 0 && $2 ~ /^py_/ && !seen[$2]++ { printf \"%%s \", $2 }' '%s'", summaryfile))
isp(e) = e[1:3] eq "py_"
base(e) = isp(e) ? e[4:*] : e
ecol(e) = base(e) eq "serial" ? "#444444" : (base(e) eq "thread" ? "#1f77b4" : (base(e) eq "process" ? "#d62728" : (base(e) eq "thread_pool" ? "#17becf" : "#ff7f0e")))
wsel(e) = sprintf("< awk -F, '$2 == \"%s\" && $7 == \"wall_s\" && $9 > 0 { print $5 \",\" $10 \",\" $13 \",\" $14 }' '%s' | sort -t, -k1,1g", e, summaryfile)
# process over ref at each size, for the prefix L ("" or "py_").
rsel(L, ref) = sprintf("< awk -F, '$7 == \"wall_s\" && $9 > 0 { m[$2 \",\" $5] = $10; s[$5] = 1 } END { for (k in s) { a = m[\"%sprocess,\" k]; b = m[\"%s%s,\" k]; if (a != \"\" && b != \"\" && b > 0) print k \",\" a / b } }' '%s' | sort -t, -k1,1g", L, L, ref, summaryfile)
# A crossover's median, min and max (NaN when none inside the range).
cross(e, m, c) = real(system(sprintf("awk -F, '$2 == \"%s\" && $7 == \"%s\" && $9 > 0 { v = $%d } END { print (v == \"\" ? \"NaN\" : v) }' '%s'", e, m, c, summaryfile)))

cs_c = cross("process", "crossover_vs_serial", 10)
ct_c = cross("process", "crossover_vs_thread", 10)
cs_p = cross("py_process", "crossover_vs_serial", 10)
ct_p = cross("py_process", "crossover_vs_thread", 10)
cs_plo = cross("py_process", "crossover_vs_serial", 13)
cs_phi = cross("py_process", "crossover_vs_serial", 14)
ct_plo = cross("py_process", "crossover_vs_thread", 13)
ct_phi = cross("py_process", "crossover_vs_thread", 14)
cs_clo = cross("process", "crossover_vs_serial", 13)
cs_chi = cross("process", "crossover_vs_serial", 14)
fmt(v) = (v == v) ? sprintf("%.2g", v) : "none in range"

do for [term=1:2] {
  if (term == 1) { set terminal pngcairo size 1500, 900 font "DejaVu Sans,11"; set output outpng } \
  else { set terminal svg size 1500, 900 font "DejaVu Sans,11" dynamic; set output outsvg }
  set multiplot layout 1, 2 margins 0.06, 0.98, 0.24, 0.86 spacing 0.07 title "E1b (tutorial 003): processes win \"provided the data is fairly large\": from which task size?\n{/*0.8 4 tasks of N increments each (the tutorials' loop); the tutorial itself ran N = 10^8: 4 processes 17.11 s vs 4 threads 30.26 s (CPython), and gave no size}"
  set logscale xy
  set format x "10^{%T}"
  set grid xtics ytics lc rgb "#dddddd"
  set xlabel "increments per task (N)"

  set title "wall time of the 4 tasks (median, min-max bars); solid: C, dashed: CPython (py\\_*)"
  set ylabel "seconds"
  set format y "10^{%T}"
  set key at screen 0.27, 0.01 center bottom horizontal maxcols 5 width 1 font ",10" noenhanced
  left = ""
  do for [k=1:words(cexecs)] { e = word(cexecs, k); left = left . sprintf("%swsel('%s') using 1:2:3:4 with yerrorlines lw 2 dt 1 pt 7 ps 0.8 lc rgb '%s' title '%s'", left eq "" ? "" : ", ", e, ecol(e), e) }
  do for [k=1:words(pexecs)] { e = word(pexecs, k); left = left . sprintf("%swsel('%s') using 1:2:3:4 with yerrorlines lw 2 dt 2 pt 6 ps 0.8 lc rgb '%s' title '%s'", left eq "" ? "" : ", ", e, ecol(e), e) }
  if (left eq "") {
    set label 9 "no wall_s rows in this run" at graph 0.5, graph 0.5 center
    unset logscale y
    set format y "%g"
    plot [1:10] [0:1] 2 notitle lc rgb "white"
    unset label 9
    set logscale y
  } else {
    eval("plot " . left)
  }

  set title "process over serial and over thread (below 1: the process wins)"
  set ylabel "ratio of medians"
  set format y "%g"
  set key at screen 0.76, 0.01 center bottom horizontal maxcols 2 width 1 font ",10" noenhanced
  unset arrow
  unset label
  set arrow 1 from graph 0, first 1 to graph 1, first 1 nohead lc rgb "black" lw 1
  if (cs_p == cs_p) { set arrow 2 from first cs_p, graph 0 to first cs_p, graph 1 nohead lc rgb "#2ca02c" dt 2 lw 2
    set label 2 sprintf("CPython process beats serial\nfrom N = %s (%s-%s)", fmt(cs_p), fmt(cs_plo), fmt(cs_phi)) at first cs_p, graph 0.95 right offset -0.5, 0 font ",9" tc rgb "#2ca02c"
  }
  if (ct_p == ct_p) { set arrow 3 from first ct_p, graph 0 to first ct_p, graph 1 nohead lc rgb "#98df8a" dt 4 lw 2
    set label 3 sprintf("CPython process beats thread\nfrom N = %s (%s-%s)", fmt(ct_p), fmt(ct_plo), fmt(ct_phi)) at first ct_p, graph 0.80 right offset -0.5, 0 font ",9" tc rgb "#2b7a2b"
  }
  if (cs_c == cs_c) { set arrow 4 from first cs_c, graph 0 to first cs_c, graph 1 nohead lc rgb "#d62728" dt 2 lw 2
    set label 4 sprintf("C process beats serial\nfrom N = %s (%s-%s)", fmt(cs_c), fmt(cs_clo), fmt(cs_chi)) at first cs_c, graph 0.65 right offset -0.5, 0 font ",9" tc rgb "#d62728"
  }
  ctxt = (ct_c == ct_c) ? sprintf("C process over thread: crosses 1 at N = %s", fmt(ct_c)) : "C process over thread: never below 1 in the swept sizes\n(C threads run in parallel: a process only adds its fork)"
  set label 5 ctxt at graph 0.98, graph 0.08 right font ",9" tc rgb "#9467bd"
  have(L, ref) = int(system(rsel(L, ref)[3:*] . " | wc -l")) > 0
  right = ""
  if (have("", "serial")) { right = right . "rsel('', 'serial') using 1:2 with linespoints lw 2 pt 7 lc rgb '#d62728' title 'C: process / serial'" }
  if (have("", "thread")) { right = right . (right eq "" ? "" : ", ") . "rsel('', 'thread') using 1:2 with linespoints lw 2 pt 5 lc rgb '#9467bd' title 'C: process / thread'" }
  if (have("py_", "serial")) { right = right . (right eq "" ? "" : ", ") . "rsel('py_', 'serial') using 1:2 with linespoints lw 2 dt 2 pt 6 lc rgb '#2ca02c' title 'CPython: py_process / py_serial'" }
  if (have("py_", "thread")) { right = right . (right eq "" ? "" : ", ") . "rsel('py_', 'thread') using 1:2 with linespoints lw 2 dt 2 pt 4 lc rgb '#98df8a' title 'CPython: py_process / py_thread'" }
  if (right eq "") {
    unset arrow
    unset label
    set label 9 "no ratios in this run: they need process and serial or thread rows" at graph 0.5, graph 0.5 center
    plot [1:10] [0.1:10] 2 notitle lc rgb "white"
    unset label 9
  } else {
    eval("plot " . right)
  }
  unset multiplot
}

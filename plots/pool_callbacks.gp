# pool_callbacks (E8): where pools run completion callbacks, two panels.
# gnuplot -e "summaryfile='..'; outpng='..'; outsvg='..'" plots/pool_callbacks.gp
if (!exists("summaryfile")) summaryfile = 'results/pool_callbacks.summary.csv'
if (!exists("outpng")) outpng = 'pool_callbacks.png'
if (!exists("outsvg")) outsvg = 'pool_callbacks.svg'
set datafile separator ','
set datafile missing ''

# The rows of one workload and metric (at least one ok sample): the C rows
# (thread_pool first), then CPython's (py_*: ThreadPoolExecutor,
# ProcessPoolExecutor, multiprocessing.Pool), each by workers: bar k of a
# group is the k-th row.
sel(w, m) = sprintf("< awk -F, 'NR > 1 && $3 == \"%s\" && $7 == \"%s\" && $9 > 0 { o = $2 == \"thread_pool\" ? 0 : $2 == \"py_thread_pool\" ? 2 : $2 == \"py_process_pool\" ? 3 : $2 == \"py_mp_pool\" ? 4 : $2 ~ /^py_/ ? 5 : 1; print o \",\" $4 \",\" $0 }' '%s' | sort -t, -k1,1n -k2,2n | cut -d, -f3-", w, m, summaryfile)
has(w, m) = int(system(sel(w, m)[3:] . " | wc -l"))
# C: blue in the workers, red in the parent; CPython: green, dark in the
# workers (ThreadPoolExecutor), light in the parent.
col(d) = strcol(2) eq "thread_pool" ? 0x1f77b4 : strcol(2) eq "py_thread_pool" ? 0x2ca02c : strcol(2)[1:3] eq "py_" ? 0x98df8a : 0xd62728
# Short names, one word a line: 13 bars share a panel.
cut(e) = strstrt(e, "_") > 0 ? e[1:strstrt(e, "_") - 1] . "\n" . e[strstrt(e, "_") + 1:] : e
short(e) = e eq "py_thread_pool" ? "Thread\nPool\nExec." : e eq "py_process_pool" ? "Process\nPool\nExec." : e eq "py_mp_pool" ? "mp.Pool" : cut(e)
lab(d) = sprintf("%s\n%s w", short(strcol(2)), strcol(4))
# One panel's bars: for each metric of the list, a group of boxes, whiskers
# and value labels, the groups one bar apart; built as a string (a metric
# without rows adds nothing) for eval.
group(w, m, off) = sprintf("sel('%s', '%s') using ($0 + %d):10:(col(0)):xtic(lab(0)) with boxes lc rgb variable, sel('%s', '%s') using ($0 + %d):10:13:14 with yerrorbars lc rgb 'black' pt -1, sel('%s', '%s') using ($0 + %d):(column(10)):(sprintf('%%.3f', column(10))) with labels offset 0,0.8 font ',8'", w, m, off, w, m, off, w, m, off)

set style fill solid 0.85 border -1
set boxwidth 0.7
set grid ytics lc rgb "#dddddd"
set key off
set xtics nomirror noenhanced font ",9"
set bmargin 5
set yrange [0:*]

do for [term=1:2] {
  if (term == 1) { set terminal pngcairo size 1400,650 font "DejaVu Sans,11"; set output outpng } \
  else { set terminal svg size 1400,650 font "DejaVu Sans,11" dynamic; set output outsvg }
  set multiplot layout 1,2 title "Pool completion callbacks (E8): a thread pool runs them in its workers (blue), a process pool one at a time in the parent (red)\n{/*0.8 green: CPython, ThreadPoolExecutor's add\\_done\\_callback in the worker thread (dark); ProcessPoolExecutor's and multiprocessing.Pool's in one thread of the parent (light)}"

  set title "2 tasks, each with a slow callback\n{/*0.8 tutorial (10 s each): 30 s on a process pool (20 s: the thread pool one expects)}\n{/*0.8 left: the whole run; right: first finished task to last callback (median, whiskers min-max)}"
  set ylabel "seconds (W: workers)"
  set xtics ()
  nw = has("callbacks", "wall_s")
  nc = has("callbacks", "callbacks_s")
  if (nw + nc == 0) { set multiplot next } else {
  cmd = ""
  if (nw > 0) { cmd = group("callbacks", "wall_s", 0); set label 1 "whole run" at first (nw - 1) / 2.0, graph 0.95 center }
  if (nc > 0) { cmd = cmd . (cmd eq "" ? "" : ", ") . group("callbacks", "callbacks_s", nw > 0 ? nw + 1 : 0); set label 2 "callbacks" at first (nw > 0 ? nw + 1 : 0) + (nc - 1) / 2.0, graph 0.95 center }
  set xrange [-0.6:(nw > 0 ? nw + 1 : 0) + (nc > 0 ? nc : 0) - 0.4]
  eval "plot " . cmd
  }
  unset label 1
  unset label 2

  set title "One callback blocks: how long the other finished tasks wait for theirs\n{/*0.8 longest wait from a task's end to its callback's start, over the other tasks (median, whiskers min-max)}"
  set ylabel "seconds"
  nb = has("blocked_callback", "result_wait_s")
  if (nb == 0) { set multiplot next } else {
  set xrange [-0.6:nb - 0.4]
  eval "plot " . group("blocked_callback", "result_wait_s", 0)
  }
  unset multiplot
}

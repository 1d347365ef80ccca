# switch (E9): cost of one switch (half a round trip), log scale.
# gnuplot -e "summaryfile='..'; outpng='..'; outsvg='..'; plotdir='..'" plots/switch.gp
if (!exists("summaryfile")) summaryfile = 'results/switch.summary.csv'
if (!exists("outpng")) outpng = 'switch.png'
if (!exists("outsvg")) outsvg = 'switch.svg'
if (!exists("plotdir")) plotdir = 'plots'

metric = "ns_per_switch"
labelof(x) = sprintf("%s %s %s", strcol(2), strcol(3), strcol(6))
# C: green coroutine, blue thread, red process; CPython (py_*) the same
# hues, lighter.
colorof(x) = strcol(2) eq "coroutine" ? 0x2ca02c : (strcol(2) eq "thread" ? 0x1f77b4 : (strcol(2) eq "process" ? 0xd62728 : (strcol(2) eq "py_coroutine" ? 0x98df8a : (strcol(2) eq "py_thread" ? 0xaec7e8 : 0xff9896))))

do for [term=1:2] {
  if (term == 1) { set terminal pngcairo size 1300,800 font "DejaVu Sans,11" noenhanced; set output outpng } \
  else { set terminal svg size 1300,800 font "DejaVu Sans,11" dynamic noenhanced; set output outsvg }
  set title "One switch between two units of work (E9): coroutines switch in user space, threads and processes through the kernel.\ngreen coroutine, blue thread, red process; lighter: CPython (py_*: generator, asyncio, greenlet, threading.Event, multiprocessing.Pipe)\nsame_pu: both on one PU; cross_pu: a wake-up on another PU; one switch = half a round trip"
  set ylabel "nanoseconds per switch (log scale; median, whiskers min to max)"
  load plotdir.'/bars_log.gp'
}

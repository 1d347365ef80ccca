# spawn (E3): cost of starting and finishing one unit of work, log scale.
# gnuplot -e "summaryfile='..'; outpng='..'; outsvg='..'; plotdir='..'" plots/spawn.gp
if (!exists("summaryfile")) summaryfile = 'results/spawn.summary.csv'
if (!exists("outpng")) outpng = 'spawn.png'
if (!exists("outsvg")) outsvg = 'spawn.svg'
if (!exists("plotdir")) plotdir = 'plots'

metric = "us_per_spawn"
labelof(x) = sprintf("%s %s%s", strcol(2), strcol(3), strcol(6) eq "none" ? " (unpinned)" : "")
# Pinned rows blue, unpinned grey; bare system calls darker than executors;
# CPython's constructs (py_*) green.
colorof(x) = strcol(2)[1:3] eq "py_" ? 0x2ca02c : (strcol(6) eq "none" ? (strcol(2) eq "raw" ? 0x777777 : 0xbbbbbb) : (strcol(2) eq "raw" ? 0x1f4e79 : 0x5b9bd5))

# Tutorial 001's print order, when the run has it: one more title line.
# (Concatenated, not sprintf'd: gnuplot 5.4's sprintf garbles a result this
# long once the file name is long, as in a test sandbox.)
order = system("awk -F, '$3 == \"print_order\" && $7 == \"child_first_pct\" && $9 > 0 { v[$2] = sprintf(\"%.0f%%\", $10); n++ } END { if (n) printf \"\\ntutorial 001, print order: the child hello before the main line (tutorial: Thread yes, Process no): C thread %s, process %s; CPython Thread %s, Process %s\", (\"thread\" in v ? v[\"thread\"] : \"-\"), (\"process\" in v ? v[\"process\"] : \"-\"), (\"py_thread\" in v ? v[\"py_thread\"] : \"-\"), (\"py_process\" in v ? v[\"py_process\"] : \"-\") }' '" . summaryfile . "'")

do for [term=1:2] {
  if (term == 1) { set terminal pngcairo size 1400,800 font "DejaVu Sans,11" noenhanced; set output outpng } \
  else { set terminal svg size 1400,800 font "DejaVu Sans,11" dynamic noenhanced; set output outsvg }
  set title "Starting and finishing one unit of work (E3). The tutorials: a thread starts tens to hundreds of times faster than a process.\nraw = the bare call (dark), thread/process/coroutine/pools = through the harness's executors (light); grey = unpinned\ngreen = CPython: threading.Thread, multiprocessing.Process per start method (fork, forkserver, spawn), concurrent.futures pools".order
  set ylabel "microseconds per start + finish (log scale; median, whiskers min to max)"
  load plotdir.'/bars_log.gp'
}

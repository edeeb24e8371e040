# Reference values for tests/statistics/test_kaplan_meier.py, test_competing_risks.py and
# test_rmst.py.  Run from the repository root:
#
#   Rscript tests/statistics/data/make_reference.R > /tmp/reference.txt
#
# Produced with R 4.2.2 (2022-11-10 r83330), survival 3.5-3, cmprsk 2.2-11.  Every number is
# printed with 15 significant digits (format(x, digits = 15)).  The tests hard-code these
# numbers so they run without R; the data files written here are the exact inputs.
suppressPackageStartupMessages({library(survival); library(cmprsk)})
here <- "tests/statistics/data"
out <- function(name, x) cat(name, "=", paste0("[", paste(format(x, digits = 15), collapse = ", "), "]"), "\n")
cat("# R", R.version$major, ".", R.version$minor, " survival ", format(packageVersion("survival")),
    " cmprsk ", format(packageVersion("cmprsk")), "\n", sep = "")

# ---- data files --------------------------------------------------------------------------
write.csv(aml, file.path(here, "aml.csv"), row.names = FALSE)
m <- mgus2[, c("id", "age", "sex", "hgb", "futime", "death", "ptime", "pstat")]
write.csv(m, file.path(here, "mgus2.csv"), row.names = FALSE)
# cmprsk's own help-page examples (?cuminc, ?crr), simulated with R's RNG; written with 17
# significant digits so Python reads back the identical doubles.
set.seed(2)
ss <- rexp(100)
gg <- factor(sample(1:3, 100, replace = TRUE), 1:3, c("a", "b", "c"))
cc <- sample(0:2, 100, replace = TRUE)
strt <- sample(1:2, 100, replace = TRUE)
ex1 <- data.frame(ss = sprintf("%.17g", ss), gg = gg, cc = cc, strt = strt)
write.csv(ex1, file.path(here, "cmprsk_cuminc_example.csv"), row.names = FALSE, quote = FALSE)
set.seed(10)
ftime <- rexp(200)
fstatus <- sample(0:2, 200, replace = TRUE)
cov <- matrix(runif(600), nrow = 200)
ex2 <- data.frame(ftime = sprintf("%.17g", ftime), fstatus = fstatus,
                  x1 = sprintf("%.17g", cov[, 1]), x2 = sprintf("%.17g", cov[, 2]),
                  x3 = sprintf("%.17g", cov[, 3]))
write.csv(ex2, file.path(here, "cmprsk_crr_example.csv"), row.names = FALSE, quote = FALSE)

# ---- Kaplan-Meier: aml -------------------------------------------------------------------
for (ct in c("log", "log-log", "plain")) {
  f <- survfit(Surv(time, status) ~ 1, data = aml, conf.type = ct)
  s <- summary(f, censored = TRUE)
  cat("## summary(survfit(Surv(time, status) ~ 1, data=aml, conf.type='", ct, "'), censored=TRUE)\n", sep = "")
  if (ct == "log") {
    out("time", s$time); out("n_risk", s$n.risk); out("n_event", s$n.event); out("n_censor", s$n.censor)
    out("surv", s$surv); out("cumhaz", f$cumhaz)
  }
  out("std_err", s$std.err); out("lower", s$lower); out("upper", s$upper)
  tb <- summary(f)$table
  out("print_median_lcl_ucl", tb[c("median", "0.95LCL", "0.95UCL")])
  q <- quantile(f, c(0.25, 0.5, 0.75))
  out("quantile", q$quantile); out("quantile_lower", q$lower); out("quantile_upper", q$upper)
}
s <- survdiff(Surv(time, status) ~ x, data = aml)
cat("## survdiff(Surv(time, status) ~ x, data=aml)\n"); out("chisq", s$chisq); out("obs", s$obs); out("exp", s$exp)
cat("## print(survfit(Surv(time, status) ~ 1, data=aml), rmean=40) and rmean=200\n")
out("rmean40", summary(survfit(Surv(time, status) ~ 1, data = aml), rmean = 40)$table[c("rmean", "se(rmean)")])
out("rmean200", summary(survfit(Surv(time, status) ~ 1, data = aml), rmean = 200)$table[c("rmean", "se(rmean)")])

# ---- Kaplan-Meier: lung --------------------------------------------------------------------
f <- survfit(Surv(time, status) ~ sex, data = lung)
cat("## summary(survfit(Surv(time, status) ~ sex, data=lung))$table\n")
tb <- summary(f)$table
out("sex1_median_lcl_ucl", tb[1, c("median", "0.95LCL", "0.95UCL")])
out("sex2_median_lcl_ucl", tb[2, c("median", "0.95LCL", "0.95UCL")])
cat("## summary(survfit(Surv(time, status) ~ 1, data=lung), times=c(100, 365, 730))\n")
s <- summary(survfit(Surv(time, status) ~ 1, data = lung), times = c(100, 365, 730))
out("surv", s$surv); out("std_err", s$std.err); out("lower", s$lower); out("upper", s$upper); out("n_risk", s$n.risk)
out("n_event", s$n.event); out("n_censor", s$n.censor)
s <- survdiff(Surv(time, status) ~ sex, data = lung)
cat("## survdiff(Surv(time, status) ~ sex, data=lung)\n"); out("chisq", s$chisq); out("obs", s$obs); out("exp", s$exp)
s <- survdiff(Surv(time, status) ~ sex, data = lung, rho = 1)
cat("## survdiff(Surv(time, status) ~ sex, data=lung, rho=1)\n"); out("chisq", s$chisq)
s <- survdiff(Surv(time, status) ~ ph.ecog + strata(sex), data = lung)
cat("## survdiff(Surv(time, status) ~ ph.ecog + strata(sex), data=lung)\n"); out("chisq", s$chisq)
cat("## weighted: survfit(Surv(time, status) ~ 1, data=lung2, weights=ph.karno/100), lung2 = lung[!is.na(lung$ph.karno),]\n")
lung2 <- lung[!is.na(lung$ph.karno), ]
fw <- survfit(Surv(time, status) ~ 1, data = lung2, weights = ph.karno / 100)
s <- summary(fw, times = c(100, 365, 730))
out("surv", s$surv); out("std_err", s$std.err); out("lower", s$lower); out("upper", s$upper); out("n_risk", s$n.risk)
out("print_median_lcl_ucl", summary(fw)$table[c("median", "0.95LCL", "0.95UCL")])
out("rmean365", summary(fw, rmean = 365)$table[c("rmean", "se(rmean)")])
fi <- survfit(Surv(time, status) ~ 1, data = lung2, weights = ph.karno %/% 10)
cat("## integer weights: weights = ph.karno %/% 10 (Greenwood)\n")
s <- summary(fi, times = c(100, 365, 730))
out("surv", s$surv); out("std_err", s$std.err); out("lower", s$lower); out("upper", s$upper)
cat("## print(survfit(Surv(time, status) ~ sex, data=lung), rmean=365)\n")
tb <- summary(survfit(Surv(time, status) ~ sex, data = lung), rmean = 365)$table
out("sex1_rmean", tb[1, c("rmean", "se(rmean)")]); out("sex2_rmean", tb[2, c("rmean", "se(rmean)")])

# ---- Kaplan-Meier with delayed entry: mgus2 on the age scale -------------------------------
cat("## survfit(Surv(age, age + futime/12, death) ~ 1, data=mgus2)\n")
fe <- survfit(Surv(age, age + futime / 12, death) ~ 1, data = mgus2)
s <- summary(fe, times = c(70, 80, 90))
out("surv", s$surv); out("std_err", s$std.err); out("lower", s$lower); out("upper", s$upper); out("n_risk", s$n.risk)
out("print_median_lcl_ucl", summary(fe)$table[c("median", "0.95LCL", "0.95UCL")])
out("n_times", length(fe$time))

# ---- flat segments at S = 0.5 ----------------------------------------------------------------
cat("## survfit(Surv(c(1,2,3,4), c(1,1,1,1)) ~ 1) and survfit(Surv(c(1,2,3,4), c(1,1,0,0)) ~ 1)\n")
f1 <- survfit(Surv(c(1, 2, 3, 4), c(1, 1, 1, 1)) ~ 1)
out("print_median_1", summary(f1)$table["median"]); out("quantile_median_1", quantile(f1, 0.5)$quantile)
f2 <- survfit(Surv(c(1, 2, 3, 4), c(1, 1, 0, 0)) ~ 1)
out("print_median_2", summary(f2)$table["median"]); out("quantile_median_2", quantile(f2, 0.5)$quantile)

# ---- competing risks: mgus2 (pcm vs death) ------------------------------------------------
md <- mgus2
md$etime <- with(md, ifelse(pstat == 0, futime, ptime))
md$event <- with(md, ifelse(pstat == 0, 2 * death, 1))
tt <- c(60, 120, 240, 360)
cat("## summary(survfit(Surv(etime, factor(event)) ~ 1, data=mgus2), times=c(60,120,240,360)); event 0=censor 1=pcm 2=death\n")
fa <- survfit(Surv(etime, factor(event)) ~ 1, data = md)
s <- summary(fa, times = tt)
out("pstate_s0", s$pstate[, 1]); out("pstate_pcm", s$pstate[, 2]); out("pstate_death", s$pstate[, 3])
out("se_s0", s$std.err[, 1]); out("se_pcm", s$std.err[, 2]); out("se_death", s$std.err[, 3])
out("lower_pcm", s$lower[, 2]); out("upper_pcm", s$upper[, 2]); out("lower_death", s$lower[, 3]); out("upper_death", s$upper[, 3])
out("cumhaz_pcm_last", fa$cumhaz[length(fa$time), 1]); out("cumhaz_death_last", fa$cumhaz[length(fa$time), 2])
cat("## timepoints(cuminc(etime, event), c(60,120,240,360))\n")
tp <- timepoints(cuminc(md$etime, md$event), tt)
out("est_pcm", tp$est[1, ]); out("est_death", tp$est[2, ]); out("var_pcm", tp$var[1, ]); out("var_death", tp$var[2, ])
cat("## cuminc(etime, event, group=sex)$Tests\n")
ts <- cuminc(md$etime, md$event, md$sex)$Tests
out("stat", ts[, "stat"]); out("pv", ts[, "pv"])
cat("## crr(etime, event, cov1=cbind(age, female=sex=='F'), failcode=1) and failcode=2\n")
X <- cbind(age = md$age, female = as.numeric(md$sex == "F"))
for (fc in 1:2) {
  z <- crr(md$etime, md$event, X, failcode = fc)
  cat("# failcode", fc, "\n")
  out("coef", z$coef); out("se", sqrt(diag(z$var))); out("loglik", z$loglik); out("loglik_null", z$loglik.null)
  out("converged", z$converged)
}
cat("## survfit(Surv(age, age + etime/12, factor(event)) ~ 1, data=mgus2, id=id): delayed entry\n")
fe <- survfit(Surv(age, age + etime / 12, factor(event)) ~ 1, data = md, id = id)
s <- summary(fe, times = c(70, 80, 90))
out("pstate_pcm", s$pstate[, 2]); out("pstate_death", s$pstate[, 3]); out("se_pcm", s$std.err[, 2])
out("se_death", s$std.err[, 3]); out("lower_death", s$lower[, 3]); out("upper_death", s$upper[, 3])

# ---- cmprsk help-page examples ---------------------------------------------------------------
e1 <- read.csv(file.path(here, "cmprsk_cuminc_example.csv"))
cat("## cuminc(ss, cc, gg, strt)$Tests  (?cuminc example)\n")
ts <- cuminc(e1$ss, e1$cc, e1$gg, e1$strt)$Tests
out("stat", ts[, "stat"]); out("pv", ts[, "pv"])
cat("## timepoints(cuminc(ss, cc), c(0.5, 1, 1.5))\n")
tp <- timepoints(cuminc(e1$ss, e1$cc), c(0.5, 1, 1.5))
out("est1", tp$est[1, ]); out("var1", tp$var[1, ]); out("est2", tp$est[2, ]); out("var2", tp$var[2, ])
e2 <- read.csv(file.path(here, "cmprsk_crr_example.csv"))
cov <- as.matrix(e2[, c("x1", "x2", "x3")])
cat("## crr(ftime, fstatus, cov)  (?crr example)\n")
z <- crr(e2$ftime, e2$fstatus, cov)
out("coef", z$coef); out("se", sqrt(diag(z$var))); out("loglik", z$loglik)
cat("## crr(ftime, fstatus, cov, failcode=2, cengroup=cov[,1] > 0.5)\n")
z <- crr(e2$ftime, e2$fstatus, cov, failcode = 2, cengroup = as.numeric(cov[, 1] > 0.5))
out("coef", z$coef); out("se", sqrt(diag(z$var)))

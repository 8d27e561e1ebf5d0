# Golden values for the CML and MML cross-checks (tests/calibration/test_golden_psychotools.py).
#
# Run from this directory:  Rscript make_goldens.R
# Needs Debian's r-base-core, r-cran-psychotools, r-cran-erm, r-cran-lme4, r-cran-jsonlite.
# Writes the response tables (*.csv, wide: person_id + one column per item, empty = NA) and
# goldens.json. The test suite reads only these files; it never needs R.
#
# References fitted:
# * psychotools::raschmodel / pcmodel: conditional ML (CML) Rasch and partial credit models.
#   Optimised by BFGS; run twice (the second run starts at the first's estimate) with
#   reltol 1e-14 so that the optimiser's stopping point is far below the 1e-4 comparison.
# * eRm::RM / PCM: CML again, an independent implementation (sum-zero normalisation).
# * lme4::glmer: the MML Rasch model as a binomial GLMM with a random person intercept,
#   logit P(x_pi = 1) = theta_p + beta_i, theta_p ~ N(0, sigma^2), by adaptive
#   Gauss-Hermite quadrature (nAGQ). Item difficulty b_i = -beta_i; the population SD is
#   sigma; logLik is the marginal log-likelihood of the persons' response vectors.
# * psychotools::nplmodel / gpcmodel (2PL/3PL and GPCM by MML) need R's mirt package, which
#   Debian does not ship; the script records their error messages instead of values.

suppressPackageStartupMessages({
  library(psychotools)
  library(eRm)
  library(lme4)
  library(jsonlite)
})

data("VerbalAggression", package = "psychotools")
data("MathExam14W", package = "psychotools")

as_plain <- function(y) {
  y <- as.matrix(y)
  storage.mode(y) <- "double"
  y
}

# The polytomous VerbalAggression responses with about 8 % of the cells set missing in a
# fixed, data-independent pattern (CML then groups persons by the items they answered).
with_missing <- function(y) {
  y <- as_plain(y)
  cells <- seq_len(length(y))
  y[cells %% 13 == 5] <- NA
  y
}

sets <- list(
  verbal_aggression_dich = as_plain(VerbalAggression$resp2),
  verbal_aggression_poly = as_plain(VerbalAggression$resp),
  verbal_aggression_poly_na = with_missing(VerbalAggression$resp),
  mathexam14w_solved = as_plain(MathExam14W$solved),
  mathexam14w_credits = as_plain(MathExam14W$credits)
)

write_wide <- function(y, file) {
  out <- data.frame(person_id = sprintf("p%04d", seq_len(nrow(y))), y, check.names = FALSE)
  write.csv(out, file, row.names = FALSE, na = "", quote = FALSE)
}

refit <- function(fit_fun, y) {
  first <- fit_fun(y, reltol = 1e-14, maxit = 10000L)
  fit_fun(y, start = coef(first), reltol = 1e-14, maxit = 10000L)
}

se_of <- function(v) unname(sqrt(diag(v)))

psychotools_fit <- function(y, polytomous) {
  if (polytomous) {
    m <- refit(pcmodel, y)
    tp <- threshpar(m, type = "mode", ref = NULL)  # thresholds, mean of all thresholds 0
    thresholds <- coef(tp, type = "matrix")
    list(
      function_name = "pcmodel",
      coef = unname(coef(m)), coef_names = names(coef(m)),
      coef_se = se_of(vcov(m)), vcov = unname(vcov(m)),
      loglik = as.numeric(logLik(m)), df = attr(logLik(m), "df"),
      thresholds = unname(thresholds), threshold_se = se_of(vcov(tp)),
      iterations = m$iterations
    )
  } else {
    m <- refit(raschmodel, y)
    ip <- itempar(m, ref = NULL)  # difficulties, sum zero
    list(
      function_name = "raschmodel",
      coef = unname(coef(m)), coef_names = names(coef(m)),
      coef_se = se_of(vcov(m)), vcov = unname(vcov(m)),
      loglik = as.numeric(logLik(m)), df = attr(logLik(m), "df"),
      difficulty = unname(coef(ip)), difficulty_se = se_of(vcov(ip)),
      iterations = m$iterations
    )
  }
}

erm_fit <- function(y, polytomous) {
  m <- if (polytomous) PCM(y, sum0 = TRUE) else RM(y, sum0 = TRUE)
  out <- list(
    function_name = if (polytomous) "PCM" else "RM",
    betapar = unname(m$betapar), se_beta = unname(m$se.beta),
    loglik = m$loglik, npar = m$npar, iterations = m$iter
  )
  if (polytomous) {
    th <- thresholds(m)
    table <- th$threshtable[[1]]
    out$thresholds <- unname(as.matrix(table[, -1, drop = FALSE]))
    out$threshold_se <- unname(th$se.thresh)
  }
  out
}

glmer_fit <- function(y, n_agq) {
  long <- data.frame(
    person = factor(rep(seq_len(nrow(y)), times = ncol(y))),
    item = factor(rep(colnames(y), each = nrow(y)), levels = colnames(y)),
    response = as.vector(y)
  )
  long <- long[!is.na(long$response), ]
  m <- glmer(response ~ 0 + item + (1 | person), data = long, family = binomial,
             nAGQ = n_agq, control = glmerControl(optimizer = "bobyqa",
                                                 optCtrl = list(maxfun = 1e5)))
  beta <- unname(fixef(m))
  list(
    function_name = "glmer",
    n_agq = n_agq,
    difficulty = -beta,
    difficulty_se = unname(sqrt(diag(as.matrix(vcov(m))))),
    sigma = as.numeric(attr(VarCorr(m)$person, "stddev")),
    loglik = as.numeric(logLik(m))
  )
}

attempt <- function(expr) {
  tryCatch({ force(expr); "ran" }, error = function(e) conditionMessage(e))
}

goldens <- list()
for (name in names(sets)) {
  y <- sets[[name]]
  write_wide(y, paste0(name, ".csv"))
  polytomous <- max(y, na.rm = TRUE) > 1
  entry <- list(
    items = colnames(y),
    persons = nrow(y),
    psychotools = psychotools_fit(y, polytomous),
    eRm = erm_fit(y, polytomous)
  )
  if (!polytomous) {
    entry$glmer <- glmer_fit(y, 25L)
    entry$glmer_agq15 <- glmer_fit(y, 15L)
  }
  goldens[[name]] <- entry
}


# Reliability (tests/calibration/test_reliability.py), by R's integrate() from the
# definitions, for fixed item parameters:
# * LSAT7 with R mirt's published 2PL estimates (a1, d; mirt 1.45 documentation), standard
#   normal population: marginal reliability as mirt's marginal_rxx integrates it,
#   int I(t) / (I(t) + 1) dnorm(t) dt; the EAP and posterior SD of each of the 32
#   patterns; the empirical reliability of those EAPs over the 1000 persons (mirt's
#   empirical_rxx: var(EAP) / (var(EAP) + mean(SE^2)), var with n - 1).
# * VerbalAggression (dichotomous) with the glmer Rasch estimates, population
#   N(0, sigma^2): int sigma^2 I(t) / (sigma^2 I(t) + 1) dnorm(t, 0, sigma) dt.
lsat7 <- read.csv("../data/lsat7.csv", comment.char = "#")
a_lsat <- c(0.988, 1.081, 1.706, 0.7651, 0.7358)
d_lsat <- c(1.8561, 0.808, 1.8043, 0.486, 1.8545)
info_2pl <- function(t, a, d) {
  sapply(t, function(x) { p <- plogis(a * x + d); sum(a^2 * p * (1 - p)) })
}
marginal <- function(a, d, mean, sd) {
  integrate(function(t) {
    i <- info_2pl(t, a, d); sd^2 * i / (sd^2 * i + 1) * dnorm(t, mean, sd)
  }, -Inf, Inf, rel.tol = 1e-12)$value
}
patterns <- as.matrix(lsat7[, 1:5])
eap <- t(apply(patterns, 1, function(x) {
  like <- function(t) sapply(t, function(v) {
    p <- plogis(a_lsat * v + d_lsat); prod(p^x * (1 - p)^(1 - x))
  }) * dnorm(t)
  m0 <- integrate(like, -Inf, Inf, rel.tol = 1e-12)$value
  m1 <- integrate(function(t) t * like(t), -Inf, Inf, rel.tol = 1e-12)$value
  m2 <- integrate(function(t) t^2 * like(t), -Inf, Inf, rel.tol = 1e-12)$value
  c(m1 / m0, sqrt(m2 / m0 - (m1 / m0)^2))
}))
persons <- rep(seq_len(nrow(patterns)), lsat7$freq)
theta_hat <- eap[persons, 1]
se_hat <- eap[persons, 2]
va <- goldens$verbal_aggression_dich$glmer
goldens$reliability <- list(
  lsat7 = list(
    a = a_lsat, d = d_lsat,
    marginal = marginal(a_lsat, d_lsat, 0, 1),
    eap = unname(eap[, 1]), eap_sd = unname(eap[, 2]),
    empirical = var(theta_hat) / (var(theta_hat) + mean(se_hat^2))
  ),
  verbal_aggression_rasch = list(
    b = va$difficulty, sigma = va$sigma,
    marginal = marginal(rep(1, length(va$difficulty)), -va$difficulty, 0, va$sigma)
  )
)

goldens$not_run <- list(
  nplmodel = attempt(nplmodel(sets$verbal_aggression_dich)),
  gpcmodel = attempt(gpcmodel(sets$verbal_aggression_poly))
)
goldens$versions <- list(
  R = R.version.string,
  psychotools = as.character(packageVersion("psychotools")),
  eRm = as.character(packageVersion("eRm")),
  lme4 = as.character(packageVersion("lme4"))
)

writeLines(toJSON(goldens, digits = NA, auto_unbox = TRUE, pretty = TRUE), "goldens.json")

# Golden values for the lognormal response-time model from R's nlme (ML, not REML).
#
# van der Linden's model ln T_ij = beta_j - tau_i + e_ij / alpha_j, tau_i ~ N(0, s^2), is a
# linear mixed model: fixed item means beta_j, a random person intercept (-tau_i) and an
# error SD per item (varIdent). nlme reports the residual SD of the first item level and
# ratios for the others, so 1 / alpha_j = sigma * ratio_j.
#
# Run from this directory: Rscript make_golden.R   (R 4.2.2, nlme 3.1-162)
library(nlme)
d <- read.csv("times.csv", stringsAsFactors = TRUE)
d$y <- log(d$seconds)
fit <- lme(y ~ 0 + item_id, random = ~ 1 | person_id,
           weights = varIdent(form = ~ 1 | item_id), data = d, method = "ML",
           control = lmeControl(maxIter = 500, msMaxIter = 500, tolerance = 1e-10,
                                msTol = 1e-12, niterEM = 100))
items <- levels(d$item_id)
beta <- fixef(fit)[paste0("item_id", items)]
ratios <- coef(fit$modelStruct$varStruct, unconstrained = FALSE, allCoef = TRUE)
sd_error <- fit$sigma * ratios[items]
se_beta <- sqrt(diag(vcov(fit)))[paste0("item_id", items)]
sd_tau <- as.numeric(VarCorr(fit)["(Intercept)", "StdDev"])
out <- data.frame(item_id = items, beta = as.numeric(beta), alpha = 1 / as.numeric(sd_error),
                  se_beta = as.numeric(se_beta))
write.csv(out, "nlme_golden.csv", row.names = FALSE)
writeLines(c(sprintf("sd_tau,%.10f", sd_tau), sprintf("loglik,%.10f", as.numeric(logLik(fit)))),
           "nlme_population.csv")

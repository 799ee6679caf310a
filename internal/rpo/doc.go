// Package rpo is Reward Preference Optimization (Miao et al., NeurIPS
// 2024; ../shared/design/RPO.md): Bradley–Terry preference labels between
// reference images and the base model's samples, the similarity loss L_sim
// and the preference loss L_pref against a frozen reference U-Net, early
// stopping and checkpoint selection by validation reward. The formulas
// live here once, with the paper's names.
package rpo

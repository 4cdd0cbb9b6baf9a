"""质量奖申报助手: interviews quality-award applicants and assembles their application."""

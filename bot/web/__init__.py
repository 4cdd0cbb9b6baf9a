"""The web channel: the interview on a phone browser (WeChat included) and as a Telegram Mini App."""

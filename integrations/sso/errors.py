"""Every way an SSO login is refused, with its stable code and the Chinese sentence the user reads."""

from __future__ import annotations

from oa.refusals import Refusal

UNKNOWN_SUBJECT = "该省统一身份认证账号尚未关联本系统用户，请联系系统管理员"

MESSAGES: dict[str, tuple[str, int]] = {
    "sso_off": ("省统一身份认证登录未启用，请使用账号密码登录。", 404),
    "sso_state": ("登录请求已失效或被篡改（state 校验不通过），未登录。请返回登录页重新点击“省统一身份认证登录”。", 400),
    "sso_idp_error": ("省统一身份认证平台未完成登录：{detail}。请重试或使用账号密码登录。", 400),
    "sso_unavailable": ("暂时无法连接省统一身份认证平台，请稍后重试或使用账号密码登录。", 502),
    "sso_token_rejected": ("省统一身份认证平台拒绝了本次登录凭证（授权码无效或已使用），请重新登录。", 400),
    "sso_token_missing": ("省统一身份认证平台没有返回身份令牌（id_token），已拒绝登录。", 400),
    "sso_token_signature": ("省统一身份认证平台返回的身份令牌签名无效，已拒绝登录。", 400),
    "sso_token_audience": ("身份令牌不是签发给本系统的（aud 不符），已拒绝登录。", 400),
    "sso_token_issuer": ("身份令牌的签发方（iss）与配置的省统一身份认证平台不符，已拒绝登录。", 400),
    "sso_token_expired": ("身份令牌已过期或签发时间无效，请重新登录。", 400),
    "sso_token_nonce": ("身份令牌与本次登录请求不对应（nonce 不符），已拒绝登录。", 400),
    "sso_token_invalid": ("省统一身份认证平台返回的身份令牌无效（{detail}），已拒绝登录。", 400),
    "sso_userinfo_mismatch": ("用户信息接口返回的账号（sub）与身份令牌不一致，已拒绝登录。", 400),
    "sso_ticket_invalid": ("CAS 票据无效或已使用，未登录。请重新点击“省统一身份认证登录”。", 400),
    "sso_unknown_subject": (UNKNOWN_SUBJECT + "（统一身份标识：{detail}）。", 403),
    "sso_account_disabled": ("您的账号已停用，请联系系统管理员。", 403),
    "sso_account_locked": ("该账号登录失败次数过多，已暂停登录至 {detail}；如非本人操作，请联系安全管理员。", 403),
}


class SsoRefusal(Refusal):
    """A refused SSO login. `code` is stable (tests, logs); the message is for the person at the browser."""

    def __init__(self, code: str, detail: str = "") -> None:
        message, status = MESSAGES[code]
        super().__init__(code, message.format(detail=detail), status)
        self.detail = detail

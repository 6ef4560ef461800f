//! Email bodies: HTML and plain text, localized where the API promises it (en, pt, es).

use super::Mail;

/// Languages of the password-recovery email.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    En,
    Pt,
    Es,
}

impl Lang {
    /// Picks a language from an explicit `lang` field, else the `X-User-Language` hint
    /// (which may be a list like `pt-BR,pt;q=0.9`), else English.
    pub fn choose(explicit: Option<&str>, header: Option<&str>) -> Lang {
        explicit
            .and_then(Lang::parse)
            .or_else(|| header.and_then(|h| h.split(',').find_map(Lang::parse)))
            .unwrap_or(Lang::En)
    }

    fn parse(tag: &str) -> Option<Lang> {
        let primary = tag
            .split(';')
            .next()?
            .trim()
            .split(['-', '_'])
            .next()?
            .to_ascii_lowercase();
        match primary.as_str() {
            "en" => Some(Lang::En),
            "pt" => Some(Lang::Pt),
            "es" => Some(Lang::Es),
            _ => None,
        }
    }

    fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Pt => "pt",
            Lang::Es => "es",
        }
    }
}

/// Escapes text for HTML element content and attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn html_page(lang: &str, title: &str, paragraphs: &[&str], link: Option<(&str, &str)>) -> String {
    let mut body = String::new();
    for p in paragraphs {
        body.push_str(&format!("<p>{}</p>\n", escape(p)));
    }
    if let Some((label, url)) = link {
        let url = escape(url);
        body.push_str(&format!(
            "<p><a href=\"{url}\" style=\"display:inline-block;padding:10px 16px;background:#1a56db;color:#fff;text-decoration:none;border-radius:4px\">{}</a></p>\n<p style=\"font-size:12px;color:#555\">{url}</p>\n",
            escape(label)
        ));
    }
    format!(
        "<!DOCTYPE html>\n<html lang=\"{lang}\">\n<head><meta charset=\"utf-8\"><title>{title}</title></head>\n<body style=\"font-family:sans-serif\">\n<h1>{title}</h1>\n{body}</body>\n</html>\n",
        title = escape(title)
    )
}

fn text_body(paragraphs: &[&str], link: Option<&str>) -> String {
    let mut text = paragraphs.join("\n\n");
    if let Some(url) = link {
        text.push_str("\n\n");
        text.push_str(url);
    }
    text.push('\n');
    text
}

/// The password-recovery email of the apikey-hmac family.
pub fn password_reset(to: &str, lang: Lang, link: &str, minutes: u64) -> Mail {
    let (subject, hello, expiry, ignore, button) = match lang {
        Lang::En => (
            "Reset your password",
            "We received a request to reset the password of your account.".to_owned(),
            format!("This link expires in {minutes} minutes and can be used once."),
            "If you did not ask for this, ignore this email: your password stays the same.",
            "Reset password",
        ),
        Lang::Pt => (
            "Redefina sua senha",
            "Recebemos um pedido para redefinir a senha da sua conta.".to_owned(),
            format!("Este link expira em {minutes} minutos e pode ser usado uma vez."),
            "Se você não fez este pedido, ignore este e-mail: sua senha continua a mesma.",
            "Redefinir senha",
        ),
        Lang::Es => (
            "Restablece tu contraseña",
            "Recibimos una solicitud para restablecer la contraseña de tu cuenta.".to_owned(),
            format!("Este enlace caduca en {minutes} minutos y solo puede usarse una vez."),
            "Si no lo solicitaste, ignora este correo: tu contraseña no cambia.",
            "Restablecer contraseña",
        ),
    };
    let paragraphs = [hello.as_str(), expiry.as_str(), ignore];
    Mail {
        to: to.to_owned(),
        subject: subject.to_owned(),
        html: html_page(lang.code(), subject, &paragraphs, Some((button, link))),
        text: text_body(&paragraphs, Some(link)),
    }
}

/// A plain English message with an optional link (verification, notices).
pub fn simple(to: &str, subject: &str, paragraphs: &[&str], link: Option<(&str, &str)>) -> Mail {
    Mail {
        to: to.to_owned(),
        subject: subject.to_owned(),
        html: html_page("en", subject, paragraphs, link),
        text: text_body(paragraphs, link.map(|(_, url)| url)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn language_choice() {
        for (explicit, header, expected) in [
            (None, None, Lang::En),
            (Some("pt"), None, Lang::Pt),
            (Some("es"), Some("pt"), Lang::Es),
            (Some("fr"), Some("es"), Lang::Es),
            (None, Some("pt-BR,pt;q=0.9,en;q=0.8"), Lang::Pt),
            (None, Some("de"), Lang::En),
            (Some("PT"), None, Lang::Pt),
        ] {
            assert_eq!(
                Lang::choose(explicit, header),
                expected,
                "{explicit:?} {header:?}"
            );
        }
    }

    #[test]
    fn reset_mail_is_localized_and_escaped() {
        let link = "https://x.invalid/reset?token=a&b=<c>";
        let m = password_reset("a@b.c", Lang::Pt, link, 60);
        assert_eq!(m.subject, "Redefina sua senha");
        assert!(m.html.contains("lang=\"pt\""));
        assert!(m.html.contains("token=a&amp;b=&lt;c&gt;"));
        assert!(m.text.contains(link));
        assert!(
            password_reset("a@b.c", Lang::Es, link, 60)
                .html
                .contains("Restablecer contraseña")
        );
    }
}

# The demo app (see docker-compose.yml). Builds better-sqlite3 from source like everywhere else.
FROM node:20-bookworm
WORKDIR /app
COPY package.json package-lock.json ./
COPY libs/ldap-auth/package.json libs/ldap-auth/
RUN npm ci
COPY . .
RUN npm run build
ENV HOST=0.0.0.0 PORT=3000
EXPOSE 3000
CMD ["node", "dist/main.js"]

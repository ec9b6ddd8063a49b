# language: zh-CN
功能: UC-02 以个人 API 密钥访问接口（REST API：Authorization）

  场景: 以本人的个人 API 密钥调用接口，接口识别出本人
    假如 以测试账户“bob”登录
    当 调用操作“api_currentuser”
    那么 操作成功
    而且 应答字段“name”为“<bob.用户名>”
    当 调用操作“api_version”
    那么 操作成功
    而且 应答字段“server”不为空
